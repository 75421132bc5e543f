"""Odd characters in the sign-in form: refused cleanly, counted, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import event

from casework.models import Role
from tests.support.casework import enrol as enrol_in

from .accounts_support import DATABASES, app_on, post_login, user
from .conftest import Staff, csrf, services


@pytest.fixture(params=DATABASES)
def app(request: pytest.FixtureRequest, make_casework: Callable[..., Flask]) -> Flask:
    return app_on(request, make_casework, request.param)


@pytest.fixture
def eva(app: Flask) -> Staff:
    # The enrol fixture is bound to the SQLite app; enrol on this app the same way.
    return enrol_in(app, "eva", Role.REVIEWER)


# Arabic-Indic, fullwidth, ASCII with one fullwidth six, extended Arabic-Indic digits
# (escaped: they look like ASCII digits, which is the point).
@pytest.mark.parametrize("code", ["\u0661\u0662\u0663\u0664\u0665\u0666",
                                  "\uff11\uff12\uff13\uff14\uff15\uff16", "12345\uff16",
                                  "\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6"])
def test_non_ascii_digits_with_the_right_password_are_a_counted_failure(
    app: Flask, eva: Staff, code: str
) -> None:
    # Before: isdigit() let these through and compare_digest raised, a 500 that appeared
    # only when the password was right (a password oracle) and was never counted.
    assert post_login(app.test_client(), "eva", eva.password, code) == 401
    assert user(app, "eva").failed_attempts == 1


def test_spaces_in_a_code_are_still_fine(app: Flask, eva: Staff) -> None:
    code = eva.code(app)
    assert post_login(app.test_client(), "eva", eva.password, f" {code[:3]} {code[3:]} ") == 302


@pytest.mark.parametrize("field", ["username", "password", "code"])
@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x7f"])
def test_control_characters_in_sign_in_fields_are_refused_without_touching_the_database(
    app: Flask, eva: Staff, field: str, bad: str
) -> None:
    values = {"username": "eva", "password": eva.password, "code": eva.code(app)}
    values[field] = values[field][:2] + bad + values[field][2:]
    client = app.test_client()
    token = csrf(client, "/login")
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    engine = services(app).db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/login", data={"csrf_token": token, **values})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Before: a 500 on PostgreSQL (NUL in a name). Now a NUL is refused by the request
    # guard (400, no form is even read); other control characters by sign-in (401).
    assert response.status_code == (400 if bad == "\x00" else 401)
    assert not any("users" in s or "sign_in_throttle" in s for s in statements)


def test_nul_in_an_administrators_reset_target_is_a_400(app: Flask) -> None:
    from casework.accounts import reset_password
    from casework.errors import InvalidInput

    with pytest.raises(InvalidInput), services(app).db.session() as db:
        reset_password(db, services(app).config, "eva\x00", by="admin")
