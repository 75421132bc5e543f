"""Sign-in: password + TOTP, enrolment, lockout, sessions, timeouts, sign-out."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import zlib
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import base64_decode
from sqlalchemy import select

import crypto
from casework.accounts import create_user
from casework.models import Role, StaffSession, User

from .accounts_support import post_login, session_rows, signed_in
from .conftest import PASSWORD, Staff, csrf, log_in, services


def test_reviewer_signs_in_and_their_key_is_unlocked(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = signed_in(casework, eva)
    page = client.get("/").get_data(as_text=True)
    assert "Your decryption key is unlocked" in page


def test_administrator_has_no_key_to_unlock(casework: Flask,
                                            enrol: Callable[..., Staff]) -> None:
    admin = enrol("admin", Role.ADMINISTRATOR)
    assert admin.key is None
    client = signed_in(casework, admin)
    assert "reads no content" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("what", ["username", "password", "code"])
def test_wrong_credentials_get_one_vague_answer(
    casework: Flask, enrol: Callable[..., Staff], what: str
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    values = {"username": eva.username, "password": eva.password, "code": eva.code(casework)}
    values[what] = {"username": "nobody", "password": "wrong password!",
                    "code": "000000" if values["code"] != "000000" else "111111"}[what]
    client = casework.test_client()
    response = client.post("/login", data={"csrf_token": csrf(client, "/login"), **values})
    assert response.status_code == 401
    assert "user name, password or code was wrong" in response.get_data(as_text=True)


def test_a_used_totp_code_cannot_be_replayed(casework: Flask,
                                             enrol: Callable[..., Staff]) -> None:
    eva = enrol("eva", Role.REVIEWER)
    code = eva.code(casework)
    assert post_login(casework.test_client(), eva.username, eva.password, code) == 302
    assert post_login(casework.test_client(), eva.username, eva.password, code) == 401


def test_brute_force_locks_the_account_with_back_off(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = casework.test_client()
    for _ in range(5):
        assert post_login(client, eva.username, "wrong password!", "") == 401
    # Locked now: even the right password is refused, without being checked.
    assert post_login(client, eva.username, eva.password, eva.code(casework)) == 429
    with services(casework).db.session() as db:
        user = db.scalar(select(User).where(User.username == "eva"))
        assert user is not None and user.locked_until is not None
        first_lock = user.locked_until
        user.locked_until = dt.datetime(2000, 1, 1)  # let the lock pass
    assert post_login(client, eva.username, "wrong again!!", "") == 401
    with services(casework).db.session() as db:
        user = db.scalar(select(User).where(User.username == "eva"))
        assert user is not None and user.locked_until is not None
        assert user.locked_until - dt.datetime.now(dt.UTC).replace(tzinfo=None) > (
            first_lock - dt.datetime.now(dt.UTC).replace(tzinfo=None))


def test_first_sign_in_enrols_totp_sets_a_password_and_makes_a_key(casework: Flask) -> None:
    config = services(casework).config
    with services(casework).db.session() as db:
        _, temporary = create_user(db, config, username="new", display_name="New Person",
                                   unit_id="etik", role=Role.REVIEWER)
    client = casework.test_client()
    response = client.post("/login", data={"csrf_token": csrf(client, "/login"),
                                           "username": "new", "password": temporary,
                                           "code": ""})
    assert response.headers["Location"] == "/enrol"
    page = client.get("/enrol").get_data(as_text=True)
    assert "<svg" in page
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    response = client.post("/enrol", data={
        "csrf_token": csrf(client, "/enrol"), "code": pyotp.TOTP(secret).now(),
        "new_password": PASSWORD, "confirm": PASSWORD, "previous_password": ""})
    assert response.status_code == 302
    assert "Your decryption key is unlocked" in client.get("/").get_data(as_text=True)
    with services(casework).db.session() as db:
        user = db.scalar(select(User).where(User.username == "new"))
        assert user is not None and user.public_key is not None and user.totp_confirmed
        assert crypto.unwrap_private_key(user.wrapped_key or b"", PASSWORD).public_key.raw == (
            user.public_key)


def test_enrolment_page_needs_a_checked_password(casework: Flask) -> None:
    assert casework.test_client().get("/enrol").status_code == 401


def _session_cookie(client: FlaskClient) -> dict[str, dict[str, str]]:
    cookie = client.get_cookie("lykta_casework")
    assert cookie is not None
    raw = cookie.value
    data = base64_decode(raw.lstrip(".").split(".")[0])
    return json.loads(zlib.decompress(data) if raw.startswith(".") else data)  # type: ignore[no-any-return]


def test_session_store_alone_and_cookie_alone_decrypt_nothing(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = signed_in(casework, eva)
    secret = base64.b64decode(_session_cookie(client)["staff"]["secret"])
    with services(casework).db.session() as db:
        (row,) = db.scalars(select(StaffSession))
        locked = row.locked_key
    assert locked is not None and eva.key is not None
    assert eva.key.raw_bytes() not in locked
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_key(locked, crypto.new_session_secret())  # store without the cookie
    assert crypto.unlock_key(locked, secret).key_id == eva.key.key_id  # both together
    # The cookie alone holds only a random secret: no key material, no password.
    raw_cookie = json.dumps(_session_cookie(client))
    assert eva.password not in raw_cookie and eva.key.raw_bytes().hex() not in raw_cookie


def test_sign_out_destroys_the_session_and_its_key(casework: Flask,
                                                   enrol: Callable[..., Staff]) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = signed_in(casework, eva)
    saved = client.get_cookie("lykta_casework")
    assert saved is not None
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert session_rows(casework) == []
    client.set_cookie("lykta_casework", saved.value)  # replay the old cookie
    assert client.get("/").status_code == 401


@pytest.mark.parametrize("field", ["last_seen_at", "created_at"])
def test_idle_and_absolute_timeouts_end_the_session(
    casework: Flask, enrol: Callable[..., Staff], field: str
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = signed_in(casework, eva)
    assert client.get("/").status_code == 200
    with services(casework).db.session() as db:
        (row,) = db.scalars(select(StaffSession))
        hours = 9 if field == "created_at" else 0.3
        setattr(row, field, getattr(row, field) - dt.timedelta(hours=hours))
    assert client.get("/").status_code == 401


def test_session_fixation_a_planted_cookie_is_replaced_at_sign_in(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = casework.test_client()
    client.get("/login")
    planted = {"staff": {"id": "a" * 32, "secret": base64.b64encode(b"x" * 32).decode()}}
    with client.session_transaction() as session:
        session.update(planted)
    log_in(casework, client, eva)
    assert _session_cookie(client)["staff"]["id"] != "a" * 32


def test_unknown_users_cost_a_password_check_too(casework: Flask,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = crypto.verify_password

    def counting(encoded: str, password: str) -> bool:
        calls.append(password)
        return original(encoded, password)

    monkeypatch.setattr(crypto, "verify_password", counting)
    post_login(casework.test_client(), "nobody", "some password", "123456")
    assert calls == ["some password"]


def test_password_is_never_stored_and_time_is_plausible(casework: Flask,
                                                        enrol: Callable[..., Staff]) -> None:
    enrol("eva", Role.REVIEWER)
    with services(casework).db.session() as db:
        user = db.scalar(select(User).where(User.username == "eva"))
        assert user is not None
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
    assert time.time() > 0
