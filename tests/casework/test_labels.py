"""Codes stay codes in the database; people read labels in their language."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from casework.cases import add_note, inbox
from casework.errors import InvalidInput
from casework.i18n import CATEGORY_LABELS
from casework.models import Role, User
from common.vocabulary import AGENCIES, CATEGORY_CODES
from intake.categories import CATEGORIES
from tests.intake.conftest import submit

from .conftest import Staff, csrf, log_in, services
from .linked import Linked
from .test_cases import _case_id, _reviewer


def test_every_category_code_has_a_label_in_both_apps() -> None:
    assert set(CATEGORY_LABELS) == set(CATEGORY_CODES) == set(CATEGORIES)
    assert "other" in AGENCIES


def test_inbox_and_case_page_show_labels_not_codes_in_english(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics", agency="Skatteverket")
    linked.sync()
    eva = _reviewer(linked, "eva")
    case_id = _case_id(linked)
    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="case-unit">Ethics committee<' in page
    assert 'id="case-category">Breach of ethics rules<' in page
    assert 'id="case-agency">Swedish Tax Agency<' in page
    listing = eva.get("/cases/").get_data(as_text=True)
    for label in ("Breach of ethics rules", "Ethics committee", "Swedish Tax Agency"):
        assert label in listing
    for code in ("<td>ethics</td>", "<td>etik</td>", ">etik</option>"):
        assert code not in listing


def test_inbox_shows_swedish_names_in_swedish(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="corruption", agency="Försäkringskassan")
    linked.sync()
    lena = _reviewer(linked, "lena")
    lena.set_cookie("lang", "sv")
    lena.get(f"/cases/{_case_id(linked)}")  # the first reader files the agency's code
    listing = lena.get("/cases/").get_data(as_text=True)
    assert "Antikorruptionsteamet" in listing and "Försäkringskassan" in listing
    assert "<td>akt</td>" not in listing and "<td>corruption</td>" not in listing


def test_domain_refusals_are_translatable(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    app = linked.casework
    with app.test_request_context(), services(app).db.session() as db:
        eva = db.scalars(select(User).where(User.username == "eva")).one()
        with pytest.raises(InvalidInput) as refused:
            add_note(services(app), db, eva, linked.staff["eva"].key, _case_id(linked), " ")
        assert isinstance(refused.value.explanation, LazyString)
        assert "20000" in str(refused.value.explanation)
        with pytest.raises(InvalidInput) as bad_cursor:
            inbox(db, eva, cursor="garbage")
        assert isinstance(bad_cursor.value.explanation, LazyString)


def test_an_account_refusal_reads_in_the_administrators_language(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    """A domain refusal raised in accounts.py is translated when shown, not when raised:
    Swedish on a Swedish page, English on the command line (test_cli)."""
    astrid = enrol("astrid", Role.ADMINISTRATOR, "kof")
    enrol("eva", Role.REVIEWER)
    client = casework.test_client()
    log_in(casework, client, astrid)
    client.set_cookie("lang", "sv")
    answer = client.post("/admin/users", data={
        "csrf_token": csrf(client, "/admin/users"), "username": "eva",
        "display_name": "Eva igen", "unit": "etik", "role": "reviewer"})
    assert answer.status_code == 400
    assert "användarnamnet eva är upptaget" in answer.get_data(as_text=True)
