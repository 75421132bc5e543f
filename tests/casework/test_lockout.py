"""Lockout answers the same for every name, so it does not tell which accounts exist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select, update

from casework.models import Role, User
from casework.models.accounts import SignInThrottle
from tests.support.databases import stored_bytes

from .accounts_support import DATABASES, app_on, new_person, post_login, user
from .conftest import Staff, services


def statuses(app: Flask, username: str, tries: int = 8) -> list[int]:
    client = app.test_client()
    return [post_login(client, username, "wrong password!", "123456") for _ in range(tries)]


@pytest.mark.parametrize("database", DATABASES)
def test_lockout_status_sequences_of_known_and_unknown_names_are_identical(
    request: pytest.FixtureRequest, make_casework: Callable[..., Flask], database: str
) -> None:
    app = app_on(request, make_casework, database)
    new_person(app, "eva")  # an account exists (enrolled or not: the same answers)
    known = statuses(app, "eva")
    unknown = statuses(app, "nobody")
    assert known == [401] * 5 + [429] * 3
    assert unknown == known


def test_a_deactivated_account_locks_like_any_other_name(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    enrol("eva", Role.REVIEWER)
    with services(casework).db.session() as db:
        db.execute(update(User).values(active=False))
    assert statuses(casework, "eva") == [401] * 5 + [429] * 3


def test_unknown_names_are_kept_only_as_keyed_hashes(casework: Flask) -> None:
    statuses(casework, "tipster.suspect.name", tries=2)
    with services(casework).db.session() as db:
        (row,) = db.scalars(select(SignInThrottle))
        assert row.failed_attempts == 2 and len(row.name_hash) == 64
        assert "tipster" not in row.name_hash
    assert b"tipster.suspect.name" not in stored_bytes(services(casework).config.database_url)


@pytest.mark.parametrize("name", ["eva", "nobody"])
def test_failure_counters_are_forgotten_after_a_day_for_every_name(
    casework: Flask, enrol: Callable[..., Staff], name: str
) -> None:
    enrol("eva", Role.REVIEWER)
    assert statuses(casework, name, tries=6) == [401] * 5 + [429]
    long_ago = dt.datetime(2000, 1, 1)
    with services(casework).db.session() as db:
        db.execute(update(User).values(last_failed_at=long_ago, locked_until=long_ago))
        db.execute(update(SignInThrottle).values(last_failed_at=long_ago,
                                                 locked_until=long_ago))
    # A day later the count starts again: five more tries before the next lock.
    assert statuses(casework, name, tries=6) == [401] * 5 + [429]


def test_the_right_password_during_a_lock_is_refused_unchecked(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    statuses(casework, "eva", tries=5)
    assert post_login(casework.test_client(), "eva", eva.password, eva.code(casework)) == 429
    assert user(casework, "eva").failed_attempts == 5
