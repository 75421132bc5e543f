"""Accounts: creating people, signing in (password + TOTP), enrolment, lockout, keys.

Every decision that parallel requests could race on is a single conditional UPDATE or
DELETE whose row count says who won: a TOTP step is taken once (``totp_last_step <
:step``), an enrolment completes once (``totp_confirmed`` is still false and its row
still exists). Slow work (Argon2) happens before those writes, so no request holds the
database's write lock while hashing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

import crypto
from common.db import Database
from common.unit_of_work import Dispatcher, UnitOfWork, emit_on

from . import lockout, totp
from .config import CaseworkConfig
from .errors import (
    AccountLocked,
    CaseworkError,
    InvalidCredentials,
    InvalidInput,
    SessionExpired,
)
from .events import (
    EnrolmentCompleted,
    EnrolmentStarted,
    KeyApproved,
    KeyRotated,
    PasswordReset,
    RefusalReason,
    SignInRefused,
    UserCreated,
)
from .models import Membership, Role, Unit, User
from .models.accounts import KEY_HOLDING_ROLES, Enrolment
from .models.base import utcnow
from .services import Casework
from .sessions import Grant, close_all_sessions, open_session, sweep_expired_sessions

MIN_PASSWORD = 12


@dataclass(frozen=True)
class Verified:
    """A password (and, once enrolled, a TOTP code) that checked out."""

    user_id: str
    needs_enrolment: bool
    private_key: crypto.PrivateKey | None


@dataclass(frozen=True)
class EnrolmentPage:
    """What the enrolment page shows: the (never yet confirmed) secret to scan."""

    user_id: str
    username: str
    secret: str


def temporary_password() -> str:
    """A one-time password handed out by the CLI (16 random characters)."""
    return secrets.token_urlsafe(12)


def is_plain_text(value: str) -> bool:
    """False if ``value`` holds a control character (NUL included) or a lone surrogate.

    PostgreSQL refuses NUL in text (a 500 before this check), and no user name, password
    or code legitimately contains control characters; such input is refused before the
    database is asked anything.
    """
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def create_user(session: Session, config: CaseworkConfig, *, username: str, display_name: str,
                unit_id: str, role: Role, password: str | None = None,
                by: str | None = None) -> tuple[User, str]:
    """Create an account (to be enrolled at first sign-in); return it and its password."""
    if not is_plain_text(username) or not is_plain_text(display_name):
        raise InvalidInput(_l("names may not contain control characters"))
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput(_l("the user name %(name)s is taken", name=username))
    if session.get(Unit, unit_id) is None:
        raise InvalidInput(_l("there is no unit %(unit)s", unit=unit_id))
    password = password or temporary_password()
    user = User(username=username, display_name=display_name,
                password_hash=crypto.hash_password(password, config.argon2))
    user.memberships.append(Membership(unit_id=unit_id, role=role.value))
    session.add(user)
    session.flush()
    emit_on(session, UserCreated(user.id, unit_id, role.value, by))
    return user, password


# Verifying against a real hash for unknown users keeps the answer's timing the same.
_DUMMY_HASHES: dict[crypto.Argon2Params, str] = {}


def _dummy_hash(params: crypto.Argon2Params) -> str:
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = crypto.hash_password(secrets.token_hex(16), params)
    return _DUMMY_HASHES[params]


def _totp_secret(config: CaseworkConfig, user: User) -> str:
    return totp.unseal(totp.load_key(config.totp_key_file), user.totp_secret or "")


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


def _refused(session: Session, config: CaseworkConfig, user_id: str) -> CaseworkError:
    lockout.count_failure(session, config, user_id)
    emit_on(session, SignInRefused(RefusalReason.CREDENTIALS, user_id))
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
        return _refused(session, config, user.id)
    success: dict[str, Any] = {"failed_attempts": 0, "locked_until": None,
                               "last_failed_at": None}
    if crypto.needs_rehash(user.password_hash, config.argon2):
        success["password_hash"] = crypto.hash_password(password, config.argon2)
    needs_enrolment = not user.totp_confirmed or user.must_change_password
    if needs_enrolment:
        session.connection().execute(update(User).where(User.id == user.id).values(**success))
        return Verified(user.id, True, None)
    step = totp.matching_step(_totp_secret(config, user), code, user.totp_last_step, now)
    if step is None:
        return _refused(session, config, user.id)
    key = None
    if user.wrapped_key is not None:
        key = crypto.unwrap_private_key(user.wrapped_key, password)
    # The step is taken only if no parallel request took it (or a later one) first:
    # exactly one of several requests with the same code opens a session.
    taken = session.connection().execute(
        update(User).where(User.id == user.id, User.totp_last_step < step)
        .values(totp_last_step=step, **success))
    if taken.rowcount != 1:
        return _refused(session, config, user.id)
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


# --- enrolment -------------------------------------------------------------------------


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
    return EnrolmentPage(user.id, user.username, _totp_secret(config, user))


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
        return _refused(session, config, user.id)
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
        return _refused(session, config, user.id)
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


# --- administration and keys -----------------------------------------------------------


def reset_password(session: Session, config: CaseworkConfig, username: str, *,
                   by: str) -> str:
    """Give a user a temporary password; they re-enrol TOTP and choose a new one.

    Every session of theirs ends (whoever held one keeps nothing), and any enrolment in
    progress is cancelled. ``by`` (the administrator) is recorded: should a new key pair
    come out of the re-enrolment, ``by`` may not be the one who approves it.
    """
    if not is_plain_text(username):
        raise InvalidInput(_l("there is no such user"))
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(_l("there is no user %(name)s", name=username))
    password = temporary_password()
    user.password_hash = crypto.hash_password(password, config.argon2)
    user.must_change_password = True
    user.totp_confirmed = False
    user.totp_secret = None
    user.failed_attempts = 0
    user.locked_until = None
    user.last_failed_at = None
    user.key_reset_by = by
    session.flush()
    close_all_sessions(session, user.id)
    session.execute(delete(Enrolment).where(Enrolment.user_id == user.id))
    emit_on(session, PasswordReset(user.id, by))
    return password


def rotate_key(session: Session, config: CaseworkConfig, username: str,
               password: str) -> crypto.PublicKey:
    """Give a key holder a new key pair, wrapped under their current password.

    After an administrator's reset the password may be known to that administrator, so
    a key rotated then waits for approval like one made at re-enrolment.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not crypto.verify_password(user.password_hash, password):
        raise InvalidCredentials()
    key = crypto.PrivateKey.generate()
    user.wrapped_key = crypto.wrap_private_key(key, password, config.argon2)
    user.public_key = key.public_key.raw
    if user.key_reset_by is None:
        user.approved_public_key = key.public_key.raw
    emit_on(session, KeyRotated(user.id, awaits_approval=user.key_reset_by is not None))
    return key.public_key


def key_awaits_approval(user: User) -> bool:
    """True if the person's current key is not the one the directory publishes."""
    return user.public_key is not None and user.public_key != user.approved_public_key


def approve_key(session: Session, username: str, *, by: str) -> crypto.PublicKey:
    """A second administrator approves a key made after a password reset.

    ``by`` must be an active administrator's user name, and not the one who reset the
    password: one administrator alone can never get a key of their choosing published.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.public_key is None:
        raise InvalidInput(f"{username!r} has no key")
    if not key_awaits_approval(user):
        raise InvalidInput(f"the key of {username!r} does not await approval")
    approver = session.scalar(select(User).where(User.username == by))
    if approver is None or not approver.active or Role.ADMINISTRATOR not in approver.roles:
        raise InvalidInput(f"{by!r} is not an administrator")
    if by == user.key_reset_by or by == username:
        raise InvalidInput("the key must be approved by another administrator than the one "
                           "who reset the password (and not by its holder)")
    user.approved_public_key = user.public_key
    user.key_reset_by = None
    emit_on(session, KeyApproved(user.id, approver.id))
    return crypto.PublicKey(user.public_key)


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
