"""The Swedish and English catalogues: complete, in step with the code, compiled, served.

If a test here fails after you added or changed a string, run
``python scripts/translations.py update``, translate the new or fuzzy entries in
``intake/translations/sv/LC_MESSAGES/messages.po`` and run ``update`` again.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "intake" / "translations"
LOCALES = ("sv", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def catalog_path(locale: str, suffix: str = ".po") -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"messages{suffix}"


def load(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as f:
        return read_po(f, locale)


def msgid(message: object) -> str:
    """The singular msgid of a message (plural messages come as tuples)."""
    return message[0] if isinstance(message, tuple) else str(message)


@pytest.fixture(scope="module")
def in_code() -> set[str]:
    """Every msgid in the intake code, extracted fresh with babel.cfg (as pybabel does)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    return {msgid(message) for _file, _line, message, _comments, _context
            in extract_from_dir(ROOT / "intake", method_map, options_map, keywords=keywords)}


def test_extraction_reaches_python_views_and_templates(in_code: set[str]) -> None:
    # One string from each source, so a broken babel.cfg cannot pass by finding nothing.
    assert "Corruption or bribery" in in_code  # _l() in intake/categories.py
    assert "Type your receipt code." in in_code  # _l() in intake/forms.py
    assert "Your message was sent." in in_code  # _l() in intake/views/dialogue.py
    assert "Make a report" in in_code  # _() in a template
    assert "You sent a report about: %(category)s, concerning %(agency)s." in in_code


def test_every_swedish_entry_is_translated_and_not_fuzzy() -> None:
    catalog = load("sv")
    assert not catalog.fuzzy, "the sv catalogue header is marked fuzzy"
    entries = [m for m in catalog if m.id]
    assert entries
    untranslated = [m.id for m in entries if not m.string or not str(m.string).strip()]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert not untranslated, f"untranslated in sv: {untranslated}"
    assert not fuzzy, f"fuzzy in sv: {fuzzy}"


def test_english_catalogue_has_nothing_fuzzy() -> None:
    catalog = load("en")
    assert not catalog.fuzzy
    assert not [m.id for m in catalog if m.id and m.fuzzy]


@pytest.mark.parametrize("locale", LOCALES)
def test_no_string_in_the_code_is_missing_from_the_catalogue(in_code: set[str],
                                                             locale: str) -> None:
    missing = sorted(in_code - {msgid(m.id) for m in load(locale) if m.id})
    assert not missing, (f"strings missing from the {locale} catalogue (run "
                         f"scripts/translations.py update and translate them): {missing}")


@pytest.mark.parametrize("locale", LOCALES)
def test_committed_mo_matches_its_po(locale: str) -> None:
    # Compared as translations, not bytes: the .mo header names the Babel version that
    # wrote it, and a newer Babel must not fail the suite on its own.
    with catalog_path(locale, ".mo").open("rb") as file:
        compiled = {m.id: m.string for m in read_mo(file) if m.id}
    expected = {m.id: m.string for m in load(locale) if m.id and m.string}
    assert {k: v for k, v in compiled.items() if v} == expected, (
        f"{locale}/messages.mo is out of date: run scripts/translations.py update")


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_exactly_the_placeholders(locale: str) -> None:
    for message in load(locale):
        if not message.id or not message.string:
            continue
        source, translation = msgid(message.id), msgid(message.string)
        assert Counter(PLACEHOLDER.findall(translation)) == \
            Counter(PLACEHOLDER.findall(source)), message.id
        # Jinja's newstyle gettext always applies %-formatting: a lone % would break it.
        assert "%" not in PLACEHOLDER.sub("", translation).replace("%%", ""), message.id


def test_swedish_by_default_english_on_request(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="sv">' in page
    assert "Rapportera missförhållanden i den offentliga förvaltningen" in page
    assert "Korruption eller mutor" in page  # a lazy_gettext label from Python
    assert "Report wrongdoing in the public administration" not in page

    switched = client.get("/language/en?next=/")
    assert switched.status_code == 302
    assert switched.headers["Location"].endswith("/")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Report wrongdoing in the public administration" in page
    assert "Corruption or bribery" in page
    assert "Rapportera missförhållanden" not in page

    back = client.get("/language/sv?next=/", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="sv">' in back
    assert "Lämna en rapport" in back
