"""Sessions end when they should: at a password reset, and their rows really go."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import update

from casework.models import Role, StaffSession
from casework.models.accounts import Enrolment

from .accounts_support import expire_sessions, session_rows, signed_in, user
from .conftest import Staff, csrf, services


@pytest.fixture
def eva(enrol: Callable[..., Staff]) -> Staff:
    """A reviewer, enrolled."""
    return enrol("eva", Role.REVIEWER)


def test_administrators_password_reset_closes_the_users_sessions(
    casework: Flask, enrol: Callable[..., Staff], eva: Staff
) -> None:
    admin = enrol("admin", Role.ADMINISTRATOR, "kof")
    victim = signed_in(casework, eva)
    assert victim.get("/").status_code == 200
    operator = signed_in(casework, admin)
    response = operator.post("/admin/users/eva/reset",
                             data={"csrf_token": csrf(operator, "/admin/users")})
    assert response.status_code == 302
    assert victim.get("/").status_code == 401  # the old session (and its key) is gone
    assert [r.user_id for r in session_rows(casework)] == [user(casework, "admin").id]
    assert operator.get("/").status_code == 200


def test_command_line_password_reset_closes_the_users_sessions(
    casework: Flask, eva: Staff
) -> None:
    client = signed_in(casework, eva)
    result = casework.test_cli_runner().invoke(args=["users", "reset-password", "eva"])
    assert result.exit_code == 0 and "sessions are closed" in result.output
    assert session_rows(casework) == []
    assert client.get("/").status_code == 401


def test_expired_session_row_and_locked_key_are_deleted_when_presented(
    casework: Flask, eva: Staff
) -> None:
    client = signed_in(casework, eva)
    expire_sessions(casework)
    assert client.get("/").status_code == 401
    # Before: the delete was rolled back with the raised SessionExpired.
    assert session_rows(casework) == []


def test_expired_sessions_nobody_presents_are_swept_at_the_next_sign_in(
    casework: Flask, eva: Staff
) -> None:
    signed_in(casework, eva)  # then the browser is simply closed
    expire_sessions(casework)
    fresh = signed_in(casework, eva)
    assert len(session_rows(casework)) == 1
    assert fresh.get("/").status_code == 200


def test_expired_sessions_are_swept_at_start_up(
    casework: Flask, eva: Staff, make_casework: Callable[..., Flask]
) -> None:
    signed_in(casework, eva)
    expire_sessions(casework)
    make_casework()  # a restart
    assert session_rows(casework) == []


def test_sessions_sweep_command_deletes_expired_sessions_and_enrolments(
    casework: Flask, eva: Staff
) -> None:
    signed_in(casework, eva)
    live = signed_in(casework, eva)
    with services(casework).db.session() as db:
        first = min(session_rows(casework), key=lambda r: r.created_at)
        db.execute(update(StaffSession).where(StaffSession.id == first.id)
                   .values(last_seen_at=dt.datetime(2000, 1, 1)))
        db.add(Enrolment(user_id=user(casework, "eva").id, expires_at=dt.datetime(2000, 1, 1)))
    result = casework.test_cli_runner().invoke(args=["sessions", "sweep"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired sessions, 1 expired enrolments" in result.output
    assert len(session_rows(casework)) == 1
    assert live.get("/").status_code == 200
