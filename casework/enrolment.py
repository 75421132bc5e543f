"""Enrolment: a checked password waiting for TOTP set-up, then the new password and key.

The enrolment lives server-side (the cookie holds only its random id) and completes once:
completion is one conditional UPDATE (``totp_confirmed`` still false, the row still there)
whose row count says which of several parallel completions won.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

import crypto
from common.db import Database
from common.unit_of_work import Dispatcher, UnitOfWork, emit_on

from . import lockout, totp
from .accounts import MIN_PASSWORD, is_plain_text
from .config import CaseworkConfig
from .errors import (
    CaseworkError,
    InvalidCredentials,
    InvalidInput,
    SessionExpired,
)
from .events import (
    EnrolmentCompleted,
    EnrolmentStarted,
)
from .models import User
from .models.accounts import KEY_HOLDING_ROLES, Enrolment
from .models.base import utcnow
from .services import Casework
from .sessions import Grant, open_session


@dataclass(frozen=True)
class EnrolmentPage:
    """What the enrolment page shows: the (never yet confirmed) secret to scan."""

    user_id: str
    username: str
    secret: str


def current_totp_secret(config: CaseworkConfig, user: User) -> str:
    """The person's TOTP secret, unsealed (for checking a code or showing it to scan)."""
    return totp.unseal(totp.load_key(config.totp_key_file), user.totp_secret or "")


def begin_enrolment(session: Session, config: CaseworkConfig, user_id: str) -> str:
    """Record a checked password waiting for TOTP set-up; return the id for the cookie.

    The enrolment lives server-side: the cookie holds only this random id, and the row
    goes when the enrolment completes or expires. A person has at most one: starting
    again ends the previous one (an older cookie finds nothing).
    """
    session.execute(delete(Enrolment).where(Enrolment.user_id == user_id))
    row = Enrolment(user_id=user_id,
                    expires_at=utcnow() + dt.timedelta(seconds=config.enrolment_seconds))
    session.add(row)
    session.flush()
    emit_on(session, EnrolmentStarted(user_id))
    return row.id


def _pending_user(session: Session, enrolment_id: str) -> User | CaseworkError:
    """The person of a live enrolment; expired rows are deleted (the caller commits)."""
    row = session.get(Enrolment, enrolment_id)
    if row is None:
        return SessionExpired()
    if row.expires_at <= utcnow():
        session.delete(row)
        return SessionExpired()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return SessionExpired()
    if user.totp_confirmed and not user.must_change_password:
        # Enrolled already: a confirmed secret is never shown again, nothing is reset.
        return SessionExpired()
    return user


def start_enrolment(db: Database, config: CaseworkConfig, enrolment_id: str) -> EnrolmentPage:
    """Give the person of a live enrolment a TOTP secret to scan (kept until confirmed).

    Raises :class:`SessionExpired` if the enrolment is unknown, expired or completed,
    or if the person is enrolled already. An expired row is deleted for good (in its
    own committed transaction, before the error is raised: the request answers 401 and
    its own unit of work rolls back).
    """
    with db.session() as session:
        outcome = _start(session, config, enrolment_id)
    if isinstance(outcome, CaseworkError):
        raise outcome
    return outcome


def _start(session: Session, config: CaseworkConfig,
           enrolment_id: str) -> EnrolmentPage | CaseworkError:
    user = _pending_user(session, enrolment_id)
    if isinstance(user, CaseworkError):
        return user
    if user.totp_confirmed:
        # must_change_password with a confirmed secret: hand out a new one rather than
        # show the confirmed one (whoever holds this cookie may not be its owner).
        user.totp_secret = None
        user.totp_confirmed = False
        session.flush()
    if user.totp_secret is None:
        key = totp.load_key(config.totp_key_file)
        # Conditional, so that two tabs opening the page at once show the same secret.
        session.connection().execute(
            update(User).where(User.id == user.id, User.totp_secret.is_(None))
            .values(totp_secret=totp.seal(key, totp.new_secret())))
        session.refresh(user)
    return EnrolmentPage(user.id, user.username, current_totp_secret(config, user))


def complete_enrolment(db: Database, config: CaseworkConfig, *, user_id: str, code: str,
                       new_password: str, previous_password: str = "",
                       enrolment_id: str | None = None, now: float | None = None,
                       dispatcher: Dispatcher | None = None) -> crypto.PrivateKey | None:
    """Confirm TOTP, set the chosen password, and wrap (or make) the private key.

    From the web, ``enrolment_id`` names the live enrolment, which completing deletes
    (single use). The CLI, the demo and tests enrol a person directly by id. Either way
    completion is one conditional UPDATE: of parallel completions exactly one wins.
    Failures are committed (they count towards the lockout) before the error is raised:
    a unit of work of its own, whose events go to ``dispatcher``, not the request's.
    """
    if not all(is_plain_text(v) for v in (code, new_password, previous_password)):
        raise InvalidInput(_l("control characters are not allowed"))
    with UnitOfWork(db, dispatcher or Dispatcher()) as unit:
        outcome = _enrol(unit.session, config, user_id, code, new_password,
                         previous_password, enrolment_id, now)
    if isinstance(outcome, CaseworkError):
        raise outcome
    return outcome


def _enrol(session: Session, config: CaseworkConfig, user_id: str, code: str,
           new_password: str, previous_password: str, enrolment_id: str | None,
           now: float | None) -> crypto.PrivateKey | CaseworkError | None:
    """The enrolment itself (see :func:`complete_enrolment`).

    A reviewer whose password was reset keeps their key by giving the previous password,
    which rewraps it; otherwise a new key pair is made and old cases must be re-addressed
    to it with the escrow key (see casework CLI ``keys``). A new key made after an
    administrator's reset is not published until a second administrator approves it.
    """
    if enrolment_id is not None:
        pending = _pending_user(session, enrolment_id)
        if isinstance(pending, CaseworkError):
            return pending
        if pending.id != user_id:
            return SessionExpired()
    user = session.get(User, user_id)
    if user is None or user.totp_secret is None:
        return InvalidCredentials()
    if user.totp_confirmed and not user.must_change_password:
        return InvalidCredentials()  # enrolled already: nothing to set again
    if len(new_password) < MIN_PASSWORD:
        return InvalidInput(_l("the password must have at least %(count)s characters",
                               count=MIN_PASSWORD))
    sealing_key = totp.load_key(config.totp_key_file)
    secret = totp.unseal(sealing_key, user.totp_secret)
    step = totp.matching_step(secret, code, user.totp_last_step, now)
    if step is None:
        return lockout.refuse(session, config, user.id)
    key: crypto.PrivateKey | None = None
    kept = False
    if user.wrapped_key is not None and previous_password:
        try:
            key = crypto.unwrap_private_key(user.wrapped_key, previous_password)
            kept = True
        except crypto.WrongPassphrase:
            return InvalidInput(_l("the previous password does not open your key"))
    if key is None and user.roles & KEY_HOLDING_ROLES:
        key = crypto.PrivateKey.generate()
    values: dict[str, Any] = {
        "password_hash": crypto.hash_password(new_password, config.argon2),
        "totp_secret": user.totp_secret if totp.is_sealed(user.totp_secret)
        else totp.seal(sealing_key, secret),
        "totp_last_step": step, "totp_confirmed": True, "must_change_password": False,
        "failed_attempts": 0, "locked_until": None, "last_failed_at": None,
    }
    if key is not None:
        values["wrapped_key"] = crypto.wrap_private_key(key, new_password, config.argon2)
        values["public_key"] = key.public_key.raw
        if kept or user.key_reset_by is None:
            # The person's own key, or their first: published as it is.
            values["approved_public_key"] = key.public_key.raw
            values["key_reset_by"] = None
        # Otherwise an administrator reset the password and a new key pair was made
        # without the previous password: whoever did the reset could have enrolled it.
        # It stays unpublished (approved_public_key unchanged) until `keys approve`.
    won = session.connection().execute(
        update(User).where(User.id == user.id, User.totp_last_step < step,
                           or_(User.totp_confirmed.is_(False),
                               User.must_change_password.is_(True)))
        .values(**values))
    if won.rowcount != 1:
        return lockout.refuse(session, config, user.id)
    session.execute(delete(Enrolment).where(Enrolment.user_id == user.id))
    emit_on(session, EnrolmentCompleted(
        user.id, new_key=key is not None and not kept,
        awaits_approval=key is not None and not kept and user.key_reset_by is not None))
    return key


def finish_enrolment(casework: Casework, session: Session, *, user_id: str,
                     enrolment_id: str, code: str, new_password: str,
                     previous_password: str) -> Grant:
    """The enrolment form: complete the enrolment, then open a session in ``session``.

    The completion is a transaction of its own (:func:`complete_enrolment`: a wrong code
    counts even though the request answers 401).
    """
    key = complete_enrolment(casework.db, casework.config, user_id=user_id,
                             enrolment_id=enrolment_id, code=code,
                             new_password=new_password, previous_password=previous_password,
                             dispatcher=casework.dispatcher)
    return open_session(session, user_id, key)


def seal_plaintext_totp_secrets(session: Session, config: CaseworkConfig) -> int:
    """Seal every TOTP secret still stored in plaintext (start-up; idempotent).

    A migration cannot do this: the key is in the instance folder, never in the
    database. Returns how many were sealed.
    """
    key = totp.load_key(config.totp_key_file)
    count = 0
    for user in session.scalars(select(User).where(User.totp_secret.is_not(None))):
        if user.totp_secret is not None and not totp.is_sealed(user.totp_secret):
            user.totp_secret = totp.seal(key, user.totp_secret)
            count += 1
    return count


def sweep_enrolments(session: Session) -> int:
    """Delete expired enrolments; returns how many."""
    result = session.connection().execute(delete(Enrolment).where(Enrolment.expires_at <= utcnow()))
    return result.rowcount
