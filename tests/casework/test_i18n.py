"""Casework's Swedish and English catalogues: complete, in step with the code, compiled, served.

If a test here fails after you added or changed a string, run
``python scripts/translations.py update``, translate the new or fuzzy entries in
``casework/translations/sv/LC_MESSAGES/messages.po`` and run ``update`` again.

The other casework tests read the pages in English (their clients carry the language
cookie, see ``conftest.py``); the tests here start from the Swedish default.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.i18n import LANG_COOKIE, ROLE_LABELS, STAGE_LABELS
from casework.models import Role, Stage
from common.i18n import is_local_path
from tests.support.i18n import LOCALES, Catalogues

from .conftest import Staff, log_in

CATALOGUES = Catalogues("casework")


def swedish_client(app: Flask) -> FlaskClient:
    """A client without a language choice (the fixtures' clients choose English)."""
    client = app.test_client()
    client.delete_cookie(LANG_COOKIE)
    return client


@pytest.fixture(scope="module")
def in_code() -> set[str]:
    """Every msgid in the casework code, extracted fresh with babel.cfg (as pybabel does)."""
    return CATALOGUES.in_code()


def test_extraction_reaches_python_views_and_templates(in_code: set[str]) -> None:
    # One string from each source, so a broken babel.cfg cannot pass by finding nothing.
    assert "Sign-in failed" in in_code  # _l() in casework/errors.py
    assert "Code from your authenticator app" in in_code  # _l() in casework/forms.py
    assert "unit lead" in in_code  # _l() in casework/i18n.py
    assert "Choose a person of the unit." in in_code  # _() in casework/views/cases.py
    assert "Recipient directory" in in_code  # _() in a template
    assert "Welcome, %(name)s" in in_code


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


def test_every_role_and_stage_has_a_label() -> None:
    # The values stay English in the database; only their labels are translated.
    assert set(ROLE_LABELS) == {r.value for r in Role}
    assert set(STAGE_LABELS) == {s.value for s in Stage}


def test_swedish_by_default_english_on_request(casework: Flask) -> None:
    client = swedish_client(casework)
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="sv">' in page
    assert "<h1>Logga in</h1>" in page
    assert "Kod från din autentiseringsapp" in page  # a lazy_gettext label from Python
    assert "Sign in" not in page

    switched = client.get("/language/en?next=/login")
    assert switched.status_code == 302
    assert switched.headers["Location"].endswith("/login")
    assert "HttpOnly" in switched.headers["Set-Cookie"]
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<h1>Sign in</h1>" in page
    assert "Code from your authenticator app" in page
    assert "Logga in" not in page

    back = client.get("/language/sv?next=/login", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="sv">' in back
    assert "<h1>Logga in</h1>" in back


def test_signed_in_pages_translate_roles_and_flash_messages(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    client = swedish_client(casework)
    log_in(casework, client, enrol("admin", Role.ADMINISTRATOR, "kof"))
    home = client.get("/").get_data(as_text=True)
    assert "Välkommen, Admin" in home
    assert "administratör i kof" in home  # the role's label; its value stays English
    assert 'href="/language/en?next=/"' in home  # the switch is in the menu, back to here
    users = client.get("/admin/users").get_data(as_text=True)
    assert '<option value="unit_lead">enhetschef</option>' in users
    assert '<option value="custodian">identitetsansvarig</option>' in users

    client.set_cookie(LANG_COOKIE, "en")
    page = client.get("/admin/users").get_data(as_text=True)
    assert '<option value="unit_lead">unit lead</option>' in page
    assert "<h1>People</h1>" in page


def test_the_switch_goes_back_only_to_local_paths(casework: Flask) -> None:
    client = swedish_client(casework)
    assert client.get("/language/en?next=/cases/%3Fstage%3Dreceived").headers[
        "Location"] == "/cases/?stage=received"
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)",
                   "/\\evil.example", "/\t/evil.example", "evil.example"):
        assert not is_local_path(target), target
        response = client.get("/language/en", query_string={"next": target})
        assert response.headers["Location"] == "/", target
    # An unknown language clears the choice instead of storing anything.
    response = client.get("/language/xx?next=/login")
    assert response.status_code == 302
    assert "lang=;" in response.headers["Set-Cookie"]


def test_the_unit_list_follows_the_language(casework: object, enrol: object) -> None:
    from casework.models import Role

    admin = enrol("admin", Role.ADMINISTRATOR, "kof")  # type: ignore[operator]
    from .conftest import log_in

    client = casework.test_client()  # type: ignore[attr-defined]
    log_in(casework, client, admin)  # type: ignore[arg-type]
    client.set_cookie("lang", "sv")
    assert "Etikkommittén</option>" in client.get("/admin/users").get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert "Ethics committee</option>" in client.get("/admin/users").get_data(as_text=True)
