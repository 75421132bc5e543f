"""Parallel requests: every failure counts, a TOTP step and an enrolment are taken once.

Real threads against the domain functions the views call, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts import create_user
from casework.authentication import verify_sign_in
from casework.enrolment import complete_enrolment
from casework.errors import AccountLocked, CaseworkError, InvalidCredentials
from casework.models import Role, StaffSession, User
from casework.models.accounts import SignInThrottle
from casework.sessions import open_session
from tests.support.casework import enrol as enrol_in

from .accounts_support import DATABASES, app_on, fresh_code, user
from .conftest import PASSWORD, services


def in_parallel(count: int, action: Callable[[], object]) -> list[object]:
    """Run ``action`` in ``count`` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)

    def run() -> object:
        barrier.wait()
        try:
            return action()
        except CaseworkError as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


@pytest.fixture(params=DATABASES)
def app(request: pytest.FixtureRequest, make_casework: Callable[..., Flask]) -> Flask:
    return app_on(request, make_casework, request.param)


def test_parallel_wrong_passwords_all_count_and_lock_the_account(app: Flask) -> None:
    enrol_in(app, "eva", Role.REVIEWER)
    config = services(app).config
    results = in_parallel(30, lambda: verify_sign_in(
        services(app).db, config, username="eva", password="wrong password!", code=""))
    refused = [r for r in results if isinstance(r, InvalidCredentials)]
    assert all(isinstance(r, InvalidCredentials | AccountLocked) for r in results)
    stored = user(app, "eva")
    # Every checked guess counted (the old read-modify-write lost most of them).
    assert stored.failed_attempts == len(refused) >= config.lockout_threshold
    assert stored.locked_until is not None
    with pytest.raises(AccountLocked):
        verify_sign_in(services(app).db, config, username="eva", password=PASSWORD, code="")


def test_parallel_guesses_at_an_unknown_name_count_like_those_at_an_account(
    app: Flask,
) -> None:
    config = services(app).config
    results = in_parallel(30, lambda: verify_sign_in(
        services(app).db, config, username="nobody", password="wrong password!", code=""))
    refused = [r for r in results if isinstance(r, InvalidCredentials)]
    with services(app).db.session() as db:
        (row,) = db.scalars(select(SignInThrottle))
        assert row.failed_attempts == len(refused) >= config.lockout_threshold
        assert row.locked_until is not None
    with pytest.raises(AccountLocked):
        verify_sign_in(services(app).db, config, username="nobody", password="x", code="")


def test_one_totp_code_posted_in_parallel_opens_one_session(app: Flask) -> None:
    eva = enrol_in(app, "eva", Role.REVIEWER)
    code = fresh_code(eva.totp_secret, user(app, "eva").totp_last_step)
    config = services(app).db, services(app).config

    def sign_in() -> str:
        verified = verify_sign_in(*config, username="eva", password=PASSWORD, code=code)
        with services(app).db.session() as db:
            return open_session(db, verified.user_id, verified.private_key).session_id

    results = in_parallel(6, sign_in)
    assert len([r for r in results if isinstance(r, str)]) == 1
    assert len([r for r in results if isinstance(r, InvalidCredentials)]) == 5
    with services(app).db.session() as db:
        assert len(list(db.scalars(select(StaffSession)))) == 1


def test_parallel_enrolment_completions_only_one_wins(app: Flask) -> None:
    with services(app).db.session() as db:
        person, _ = create_user(db, services(app).config, username="new", display_name="N",
                                unit_id="etik", role=Role.REVIEWER)
        person.totp_secret, user_id = pyotp.random_base32(32), person.id
        secret = person.totp_secret
    code = fresh_code(secret, 0)
    passwords = iter(f"password number {n:02d}" for n in range(6))
    lock = threading.Lock()

    def complete() -> str:
        with lock:
            chosen = next(passwords)
        complete_enrolment(services(app).db, services(app).config, user_id=user_id,
                           code=code, new_password=chosen)
        return chosen

    results = in_parallel(6, complete)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1
    stored = user(app, "new")
    assert stored.totp_confirmed and stored.wrapped_key is not None
    # The stored password and key are the winner's, not a mix of several requests.
    from crypto import unwrap_private_key, verify_password

    assert verify_password(stored.password_hash, winners[0])
    assert unwrap_private_key(stored.wrapped_key, winners[0]).public_key.raw == stored.public_key
    assert isinstance(stored, User)
