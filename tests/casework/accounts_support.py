"""Helpers for the account-hardening tests: sign-in attempts, enrolments, both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from casework.accounts import create_user
from casework.models import Role, StaffSession, User
from tests.support.casework import fresh_step

from .conftest import Staff, csrf, log_in, services

DATABASES = ["sqlite", "postgresql"]


def app_on(request: pytest.FixtureRequest, make_casework: Callable[..., Flask],
           database: str) -> Flask:
    """A casework app on SQLite (the default) or on a fresh throwaway PostgreSQL."""
    if database == "postgresql":
        new_database: Callable[[], str] = request.getfixturevalue("new_postgres_database")
        return make_casework(database_url=new_database())
    return make_casework()


def post_login(client: FlaskClient, username: str, password: str, code: str) -> int:
    """Post the sign-in form; the status code."""
    return client.post("/login", data={"csrf_token": csrf(client, "/login"),
                                       "username": username, "password": password,
                                       "code": code}).status_code


def signed_in(app: Flask, staff: Staff) -> FlaskClient:
    """A new client on which ``staff`` has signed in through the form."""
    client = app.test_client()
    log_in(app, client, staff)
    return client


def session_rows(app: Flask) -> list[StaffSession]:
    """The staff sessions stored now."""
    with services(app).db.session() as db:
        return list(db.scalars(select(StaffSession)))


def new_person(app: Flask, username: str = "new", role: Role = Role.REVIEWER) -> str:
    """Create a not yet enrolled account; its one-time password."""
    with services(app).db.session() as db:
        _, password = create_user(db, services(app).config, username=username,
                                  display_name=username.title(), unit_id="etik", role=role)
    return password


def start_enrolling(app: Flask, username: str, password: str) -> tuple[FlaskClient, str]:
    """Sign in with a one-time password; the client (at /enrol) and the secret shown."""
    client = app.test_client()
    assert post_login(client, username, password, "") == 302
    page = client.get("/enrol")
    assert page.status_code == 200
    return client, page.get_data(as_text=True).split('id="totp-secret">')[1].split("<")[0]


def finish_enrolling(client: FlaskClient, secret: str, new_password: str,
                     previous_password: str = "") -> int:
    """Post the enrolment form with a fresh code; the status code."""
    return client.post("/enrol", data={
        "csrf_token": csrf(client, "/enrol"), "code": pyotp.TOTP(secret).now(),
        "new_password": new_password, "confirm": new_password,
        "previous_password": previous_password}).status_code


def user(app: Flask, username: str) -> User:
    """The account row as stored now."""
    with services(app).db.session() as db:
        found = db.scalar(select(User).where(User.username == username))
        assert found is not None
        return found


def fresh_code(secret: str, last_step: int) -> str:
    """A valid code for a step after ``last_step`` (waits if needed)."""
    return pyotp.TOTP(secret).at(fresh_step(last_step) * 30)


def expire_sessions(app: Flask) -> None:
    """Age every staff session past both its idle and its absolute limit."""
    with services(app).db.session() as db:
        db.execute(update(StaffSession).values(created_at=dt.datetime(2000, 1, 1),
                                               last_seen_at=dt.datetime(2000, 1, 1)))
