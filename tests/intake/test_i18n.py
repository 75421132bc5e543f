"""The Swedish and English catalogues: complete, in step with the code, compiled, served.

If a test here fails after you added or changed a string, run
``python scripts/translations.py update``, translate the new or fuzzy entries in
``intake/translations/sv/LC_MESSAGES/messages.po`` and run ``update`` again.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.i18n import LOCALES, Catalogues

CATALOGUES = Catalogues("intake")


@pytest.fixture(scope="module")
def in_code() -> set[str]:
    """Every msgid in the intake code, extracted fresh with babel.cfg (as pybabel does)."""
    return CATALOGUES.in_code()


def test_extraction_reaches_python_views_and_templates(in_code: set[str]) -> None:
    # One string from each source, so a broken babel.cfg cannot pass by finding nothing.
    assert "Corruption or bribery" in in_code  # _l() in intake/categories.py
    assert "Type your receipt code." in in_code  # _l() in intake/forms.py
    assert "Your message was sent." in in_code  # _l() in intake/views/dialogue.py
    assert "Make a report" in in_code  # _() in a template
    assert "You sent a report about: %(category)s, concerning %(agency)s." in in_code


def test_every_swedish_entry_is_translated_and_not_fuzzy() -> None:
    CATALOGUES.assert_swedish_translated_and_not_fuzzy()


def test_english_catalogue_has_nothing_fuzzy() -> None:
    CATALOGUES.assert_english_not_fuzzy()


@pytest.mark.parametrize("locale", LOCALES)
def test_no_string_in_the_code_is_missing_from_the_catalogue(in_code: set[str],
                                                             locale: str) -> None:
    CATALOGUES.assert_nothing_missing(in_code, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_committed_mo_matches_its_po(locale: str) -> None:
    CATALOGUES.assert_mo_matches_po(locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_exactly_the_placeholders(locale: str) -> None:
    CATALOGUES.assert_placeholders_kept(locale)


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
