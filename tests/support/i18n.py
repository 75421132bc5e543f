"""An app's Swedish and English catalogues, and the checks both apps' test_i18n run on them.

If a check fails after you added or changed a string, run
``python scripts/translations.py update``, translate the new or fuzzy entries in
``<app>/translations/sv/LC_MESSAGES/messages.po`` and run ``update`` again.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("sv", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def msgid(message: object) -> str:
    """The singular msgid of a message (plural messages come as tuples)."""
    return message[0] if isinstance(message, tuple) else str(message)


def _frozen(value: object) -> object:
    """A .mo plural id or string comes as a list, a .po one as a tuple: compare tuples."""
    return tuple(value) if isinstance(value, list) else value


def _as_compiled(message: object) -> object:
    """A .po message's string as Babel compiles it: an empty plural form falls back to
    the msgid's singular or plural (what an untranslated en plural holds in the .mo)."""
    ids, strings = message.id, message.string  # type: ignore[attr-defined]
    if isinstance(ids, tuple):
        return tuple(s or ids[min(i, 1)] for i, s in enumerate(strings))
    return strings


@dataclass(frozen=True)
class Catalogues:
    """The catalogues of one app (``package``: ``"intake"`` or ``"casework"``)."""

    package: str

    def path(self, locale: str, suffix: str = ".po") -> Path:
        return ROOT / self.package / "translations" / locale / "LC_MESSAGES" / f"messages{suffix}"

    def load(self, locale: str) -> Catalog:
        with self.path(locale).open("rb") as f:
            return read_po(f, locale)

    def in_code(self) -> set[str]:
        """Every msgid in the app's code, extracted fresh with babel.cfg (as pybabel does)."""
        with (ROOT / "babel.cfg").open() as f:
            method_map, options_map = parse_mapping_cfg(f)
        keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
        return {msgid(message) for _file, _line, message, _comments, _context
                in extract_from_dir(ROOT / self.package, method_map, options_map,
                                    keywords=keywords)}

    # -- the checks ------------------------------------------------------------------

    def assert_swedish_translated_and_not_fuzzy(self) -> None:
        catalog = self.load("sv")
        assert not catalog.fuzzy, "the sv catalogue header is marked fuzzy"
        entries = [m for m in catalog if m.id]
        assert entries
        untranslated = [m.id for m in entries if not m.string or not str(m.string).strip()]
        fuzzy = [m.id for m in entries if m.fuzzy]
        assert not untranslated, f"untranslated in sv: {untranslated}"
        assert not fuzzy, f"fuzzy in sv: {fuzzy}"

    def assert_english_not_fuzzy(self) -> None:
        catalog = self.load("en")
        assert not catalog.fuzzy
        assert not [m.id for m in catalog if m.id and m.fuzzy]

    def assert_nothing_missing(self, in_code: set[str], locale: str) -> None:
        missing = sorted(in_code - {msgid(m.id) for m in self.load(locale) if m.id})
        assert not missing, (f"strings missing from the {locale} catalogue (run "
                             f"scripts/translations.py update and translate them): {missing}")

    def assert_mo_matches_po(self, locale: str) -> None:
        # Compared as translations, not bytes: the .mo header names the Babel version that
        # wrote it, and a newer Babel must not fail the suite on its own.
        with self.path(locale, ".mo").open("rb") as file:
            compiled = {_frozen(m.id): _frozen(m.string) for m in read_mo(file) if m.id}
        expected = {_frozen(m.id): _as_compiled(m) for m in self.load(locale)
                    if m.id and m.string}
        assert {k: v for k, v in compiled.items() if v} == expected, (
            f"{locale}/messages.mo is out of date: run scripts/translations.py update")

    def assert_placeholders_kept(self, locale: str) -> None:
        for message in self.load(locale):
            if not message.id or not msgid(message.string):  # ("", "") for an empty plural
                continue
            source, translation = msgid(message.id), msgid(message.string)
            assert Counter(PLACEHOLDER.findall(translation)) == \
                Counter(PLACEHOLDER.findall(source)), message.id
            # Jinja's newstyle gettext always applies %-formatting: a lone % would break it.
            assert "%" not in PLACEHOLDER.sub("", translation).replace("%%", ""), message.id
