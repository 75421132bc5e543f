"""Signing in: password, then TOTP; failures counted; the key unwrapped for the session.

Every decision that parallel requests could race on is a single conditional UPDATE whose
row count says who won: a TOTP step is taken once (``totp_last_step < :step``). Slow work
(Argon2) happens before those writes, so no request holds the database's write lock
while hashing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import crypto
from common.db import Database
from common.unit_of_work import Dispatcher, UnitOfWork, emit_on

from . import lockout, totp
from .accounts import is_plain_text
from .config import CaseworkConfig
from .enrolment import begin_enrolment, current_totp_secret, sweep_enrolments
from .errors import (
    AccountLocked,
    CaseworkError,
    InvalidCredentials,
)
from .events import (
    RefusalReason,
    SignInRefused,
)
from .models import User
from .services import Casework
from .sessions import Grant, open_session, sweep_expired_sessions


@dataclass(frozen=True)
class Verified:
    """A password (and, once enrolled, a TOTP code) that checked out."""

    user_id: str
    needs_enrolment: bool
    private_key: crypto.PrivateKey | None


# Verifying against a real hash for unknown users keeps the answer's timing the same.
_DUMMY_HASHES: dict[crypto.Argon2Params, str] = {}


def _dummy_hash(params: crypto.Argon2Params) -> str:
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = crypto.hash_password(secrets.token_hex(16), params)
    return _DUMMY_HASHES[params]


def verify_sign_in(db: Database, config: CaseworkConfig, *, username: str,
                   password: str, code: str, now: float | None = None,
                   dispatcher: Dispatcher | None = None) -> Verified:
    """Check password and TOTP; count failures; unwrap the key for the session.

    Unknown user, wrong password and wrong code all raise the same
    :class:`InvalidCredentials`. A locked account (or a locked unknown name: they are
    counted alike) is refused before anything is checked, so guessing during a lockout
    learns nothing. Failures are committed before the error is raised, so that a failed
    attempt always counts: this is a unit of work of its own, not the request's, whose
    refusal (401, 429) rolls back. Its events (:class:`SignInRefused`) go to
    ``dispatcher`` with it. As before, nothing is written before the Argon2 check.
    """
    name = username.strip()
    if not all(is_plain_text(v) for v in (name, password, code)):
        raise InvalidCredentials()
    with UnitOfWork(db, dispatcher or Dispatcher()) as unit:
        outcome = _check(unit.session, config, name, password, code, now)
    if isinstance(outcome, CaseworkError):
        raise outcome
    return outcome


def _check_unknown(session: Session, config: CaseworkConfig, name: str,
                   password: str) -> CaseworkError:
    key = lockout.name_key(config, name)
    # Never the name: one that is no account is free text (a password in the wrong field).
    if lockout.unknown_name_locked(session, key):
        emit_on(session, SignInRefused(RefusalReason.LOCKED))
        return AccountLocked()
    crypto.verify_password(_dummy_hash(config.argon2), password)
    lockout.count_unknown_failure(session, config, key)
    emit_on(session, SignInRefused(RefusalReason.CREDENTIALS))
    return InvalidCredentials()


def _check(session: Session, config: CaseworkConfig, name: str, password: str,
           code: str, now: float | None) -> Verified | CaseworkError:
    user = session.scalar(select(User).where(User.username == name))
    if user is None or not user.active:
        return _check_unknown(session, config, name, password)
    if lockout.is_locked(user.locked_until):
        emit_on(session, SignInRefused(RefusalReason.LOCKED, user.id))
        return AccountLocked()
    if not crypto.verify_password(user.password_hash, password):
        return lockout.refuse(session, config, user.id)
    success: dict[str, Any] = {"failed_attempts": 0, "locked_until": None,
                               "last_failed_at": None}
    if crypto.needs_rehash(user.password_hash, config.argon2):
        success["password_hash"] = crypto.hash_password(password, config.argon2)
    needs_enrolment = not user.totp_confirmed or user.must_change_password
    if needs_enrolment:
        session.connection().execute(update(User).where(User.id == user.id).values(**success))
        return Verified(user.id, True, None)
    step = totp.matching_step(current_totp_secret(config, user), code, user.totp_last_step, now)
    if step is None:
        return lockout.refuse(session, config, user.id)
    key = None
    if user.wrapped_key is not None:
        key = crypto.unwrap_private_key(user.wrapped_key, password)
    # The step is taken only if no parallel request took it (or a later one) first:
    # exactly one of several requests with the same code opens a session.
    taken = session.connection().execute(
        update(User).where(User.id == user.id, User.totp_last_step < step)
        .values(totp_last_step=step, **success))
    if taken.rowcount != 1:
        return lockout.refuse(session, config, user.id)
    return Verified(user.id, False, key)


@dataclass(frozen=True)
class SignIn:
    """The outcome of the sign-in form: a session, or an enrolment to go on with."""

    grant: Grant | None = None
    enrolment_id: str | None = None


def sign_in(casework: Casework, session: Session, *, username: str, password: str,
            code: str) -> SignIn:
    """The sign-in form: check it, then open a session (or begin an enrolment).

    The check (:func:`verify_sign_in`) is a transaction of its own, so failures count
    even though the request answers 401; what follows is written in ``session`` (the
    request's). Sessions, enrolments and counters that expired are swept now and then
    (here), so their rows and locked keys do not wait in the store for a restart.
    """
    verified = verify_sign_in(casework.db, casework.config, username=username,
                              password=password, code=code, dispatcher=casework.dispatcher)
    if verified.needs_enrolment:
        # Server-side and single use: the cookie gets only the id of the enrolment row.
        return SignIn(enrolment_id=begin_enrolment(session, casework.config,
                                                   verified.user_id))
    grant = open_session(session, verified.user_id, verified.private_key)
    sweep_expired_sessions(session, casework.config)
    sweep_enrolments(session)
    lockout.forget_old_failures(session, casework.config)
    return SignIn(grant=grant)
