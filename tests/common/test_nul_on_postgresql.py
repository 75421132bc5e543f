"""A NUL anywhere in a request is a 400 on PostgreSQL, never a 500.

PostgreSQL refuses a NUL in any text it is given (SQLite stores it), so a NUL that
reached a query (a case id in the path, a cursor in the query string, a user name in a
form) answered 500 on production databases only. The request guard refuses it before any
view runs; this test sends one in every path parameter, query and form field of both
apps, signed in, on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
from flask import Flask
from flask.testing import FlaskClient

from casework.accounts import create_user
from casework.enrolment import complete_enrolment
from casework.models import Role

# The casework app factory, on a database of this test's choosing.
from tests.casework.conftest import (  # noqa: F401
    PASSWORD,
    Staff,
    casework_config,
    csrf,
    log_in,
    make_casework,
    services,
)

# The intake app factory and its fixtures, likewise.
from tests.intake.conftest import (  # noqa: F401
    csrf_token,
    intake_config,
    make_app,
    people,
    sign_in,
    submit,
)

NUL = "x\x00y"
FIELDS = ("username", "password", "code", "text", "reply-text", "note-text", "assignee",
          "display_name", "unit", "role", "receipt", "what", "category", "agency")
# Static files never reach the database; signing out would end the test's session.
SKIPPED = {"static", "assets.static", "auth.logout", "dialogue.logout"}


def _requests(app: Flask) -> list[tuple[str, str, str]]:
    """(method, url, what) for every route: a NUL in each path parameter, in the query."""
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        clean = {arg: "abc" for arg in rule.arguments}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, adapter.build(rule.endpoint, clean) + "?next=%00", "query"))
            if rule.arguments:
                out.append((method, adapter.build(rule.endpoint,
                                                  dict.fromkeys(rule.arguments, NUL)), "path"))
            if method == "POST":
                out.append((method, adapter.build(rule.endpoint, clean), "form"))
    return out


def _send_everywhere(app: Flask, client: FlaskClient, token: str) -> list[str]:
    wrong = []
    for method, url, what in _requests(app):
        data = {"csrf_token": token, **dict.fromkeys(FIELDS, NUL)} if method == "POST" else None
        status = client.open(url, method=method, data=data).status_code
        if status != 400:
            wrong.append(f"{method} {url} ({what}): {status}")
    return wrong


def _enrolled(casework: Flask, username: str, unit: str, role: Role) -> Staff:
    config = services(casework).config
    with services(casework).db.session() as db:
        user, _ = create_user(db, config, username=username, display_name=username,
                              unit_id=unit, role=role)
        user.totp_secret, user_id = pyotp.random_base32(32), user.id
        secret = user.totp_secret
    complete_enrolment(services(casework).db, config, user_id=user_id,
                       code=pyotp.TOTP(secret).at(time.time() - 30), new_password=PASSWORD)
    return Staff(username, PASSWORD, secret, None)


def test_nul_in_any_path_query_or_form_field_is_400_on_postgresql_casework(
        make_casework: Callable[..., Flask],  # noqa: F811
        new_postgres_database: Callable[[], str]) -> None:
    casework = make_casework(database_url=new_postgres_database())
    for staff in (_enrolled(casework, "lena", "etik", Role.UNIT_LEAD),
                  _enrolled(casework, "astrid", "kof", Role.ADMINISTRATOR)):
        client = casework.test_client()
        log_in(casework, client, staff)
        assert _send_everywhere(casework, client, csrf(client, "/")) == []


def test_nul_in_any_path_query_or_form_field_is_400_on_postgresql_intake(
        make_app: Callable[..., Flask],  # noqa: F811
        new_postgres_database: Callable[[], str]) -> None:
    intake = make_app(database_url=new_postgres_database())
    client = intake.test_client()
    sign_in(client, submit(client, what="A report, so that a tipster is signed in"))
    assert _send_everywhere(intake, client, csrf_token(client, "/dialogue")) == []
