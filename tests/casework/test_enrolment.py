"""Enrolment is single use and lives server-side: a copied cookie opens nothing later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyotp
from flask import Flask
from sqlalchemy import select, update

import crypto
from casework.enrolment import begin_enrolment
from casework.models import Role
from casework.models.accounts import Enrolment

from .accounts_support import finish_enrolling, new_person, post_login, start_enrolling, user
from .conftest import PASSWORD, Staff, csrf, services


def test_replayed_enrolment_cookie_after_completion_is_refused(casework: Flask) -> None:
    temporary = new_person(casework)
    client, secret = start_enrolling(casework, "new", temporary)
    copied = client.get_cookie("lykta_casework")
    assert copied is not None
    assert finish_enrolling(client, secret, PASSWORD) == 302
    attacker = casework.test_client()
    attacker.set_cookie("lykta_casework", copied.value)
    page = attacker.get("/enrol")
    assert page.status_code == 401
    assert secret not in page.get_data(as_text=True)  # the confirmed secret stays hidden
    token = csrf(casework.test_client(), "/login")
    attacker.set_cookie("lykta_casework", copied.value)
    response = attacker.post("/enrol", data={
        "csrf_token": token, "code": pyotp.TOTP(secret).now(),
        "new_password": "the attacker's password", "confirm": "the attacker's password",
        "previous_password": ""})
    assert response.status_code in (400, 401)
    stored = user(casework, "new")
    assert crypto.verify_password(stored.password_hash, PASSWORD)
    assert stored.wrapped_key is not None
    crypto.unwrap_private_key(stored.wrapped_key, PASSWORD)  # the owner's key, unchanged


def test_enrolment_cookie_holds_only_a_random_id(casework: Flask) -> None:
    temporary = new_person(casework)
    client, _ = start_enrolling(casework, "new", temporary)
    with client.session_transaction() as session:
        pending = dict(session["enrol"])
    with services(casework).db.session() as db:
        (row,) = db.scalars(select(Enrolment))
        assert pending == {"id": row.id}
        assert row.user_id != row.id and len(row.id) == 32


def test_a_second_sign_in_ends_the_earlier_enrolment(casework: Flask) -> None:
    temporary = new_person(casework)
    first, _ = start_enrolling(casework, "new", temporary)
    second, secret = start_enrolling(casework, "new", temporary)
    assert first.get("/enrol").status_code == 401
    assert finish_enrolling(second, secret, PASSWORD) == 302


def test_an_expired_enrolment_is_refused_and_deleted(casework: Flask) -> None:
    temporary = new_person(casework)
    client, secret = start_enrolling(casework, "new", temporary)
    with services(casework).db.session() as db:
        db.execute(update(Enrolment).values(expires_at=dt.datetime(2000, 1, 1)))
    assert client.get("/enrol").status_code == 401
    with services(casework).db.session() as db:
        assert list(db.scalars(select(Enrolment))) == []
    response = client.post("/enrol", data={
        "csrf_token": csrf(client, "/login"), "code": pyotp.TOTP(secret).now(),
        "new_password": PASSWORD, "confirm": PASSWORD, "previous_password": ""})
    assert response.status_code == 401
    assert not user(casework, "new").totp_confirmed


def test_enrolment_of_an_enrolled_person_is_refused(casework: Flask,
                                                   enrol: Callable[..., Staff]) -> None:
    eva = enrol("eva", Role.REVIEWER)
    # Even a live enrolment row (say, left over) never shows a confirmed secret.
    with services(casework).db.session() as db:
        enrolment_id = begin_enrolment(db, services(casework).config, user(casework, "eva").id)
    client = casework.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        session["enrol"] = {"id": enrolment_id}
    page = client.get("/enrol")
    assert page.status_code == 401 and eva.totp_secret not in page.get_data(as_text=True)


def test_a_failed_code_keeps_the_enrolment_for_another_try(casework: Flask) -> None:
    temporary = new_person(casework)
    client, secret = start_enrolling(casework, "new", temporary)
    wrong = client.post("/enrol", data={
        "csrf_token": csrf(client, "/enrol"), "code": "000000" if pyotp.TOTP(secret).now()
        != "000000" else "111111", "new_password": PASSWORD, "confirm": PASSWORD,
        "previous_password": ""})
    assert wrong.status_code == 401
    assert finish_enrolling(client, secret, PASSWORD) == 302
    assert post_login(casework.test_client(), "new", temporary, "") == 401
