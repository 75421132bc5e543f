"""Accounts: creating people, signing in (password + TOTP), enrolment, lockout, keys."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.db import Database

from . import totp
from .config import CaseworkConfig
from .errors import AccountLocked, CaseworkError, InvalidCredentials, InvalidInput
from .models import Case, CaseEnvelope, Membership, Role, Unit, User
from .models.accounts import KEY_HOLDING_ROLES
from .models.base import utcnow

MIN_PASSWORD = 12


@dataclass(frozen=True)
class Verified:
    """A password (and, once enrolled, a TOTP code) that checked out."""

    user_id: str
    needs_enrolment: bool
    private_key: crypto.PrivateKey | None


def temporary_password() -> str:
    """A one-time password handed out by the CLI (16 random characters)."""
    return secrets.token_urlsafe(12)


def create_user(session: Session, config: CaseworkConfig, *, username: str, display_name: str,
                unit_id: str, role: Role, password: str | None = None) -> tuple[User, str]:
    """Create an account (to be enrolled at first sign-in); return it and its password."""
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput(f"the user name {username!r} is taken")
    if session.get(Unit, unit_id) is None:
        raise InvalidInput(f"there is no unit {unit_id!r}")
    password = password or temporary_password()
    user = User(username=username, display_name=display_name,
                password_hash=crypto.hash_password(password, config.argon2))
    user.memberships.append(Membership(unit_id=unit_id, role=role.value))
    session.add(user)
    session.flush()
    return user, password


def _register_failure(user: User, config: CaseworkConfig) -> None:
    user.failed_attempts += 1
    excess = user.failed_attempts - config.lockout_threshold
    if excess >= 0:
        # Exponential back-off: 30 s, 60 s, 120 s ... capped at an hour.
        seconds = min(config.lockout_base_seconds * 2 ** excess, config.lockout_max_seconds)
        user.locked_until = utcnow() + dt.timedelta(seconds=seconds)


# Verifying against a real hash for unknown users keeps the answer's timing the same.
_DUMMY_HASHES: dict[crypto.Argon2Params, str] = {}


def _dummy_hash(params: crypto.Argon2Params) -> str:
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = crypto.hash_password(secrets.token_hex(16), params)
    return _DUMMY_HASHES[params]


def verify_sign_in(db: Database, config: CaseworkConfig, *, username: str,
                   password: str, code: str, now: float | None = None) -> Verified:
    """Check password and TOTP; count failures; unwrap the key for the session.

    Unknown user, wrong password and wrong code all raise the same
    :class:`InvalidCredentials`. A locked account is refused before anything is checked,
    so guessing during a lockout learns nothing. Failures are committed before the
    error is raised, so that a failed attempt always counts.
    """
    with db.session() as session:
        outcome = _check(session, config, username, password, code, now)
    if isinstance(outcome, CaseworkError):
        raise outcome
    return outcome


def _check(session: Session, config: CaseworkConfig, username: str, password: str,
           code: str, now: float | None) -> Verified | CaseworkError:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        crypto.verify_password(_dummy_hash(config.argon2), password)
        return InvalidCredentials()
    if user.locked_until is not None and user.locked_until > utcnow():
        return AccountLocked()
    if not crypto.verify_password(user.password_hash, password):
        _register_failure(user, config)
        return InvalidCredentials()
    needs_enrolment = not user.totp_confirmed or user.must_change_password
    if not needs_enrolment:
        step = totp.matching_step(user.totp_secret or "", code, user.totp_last_step, now)
        if step is None:
            _register_failure(user, config)
            return InvalidCredentials()
        user.totp_last_step = step
    user.failed_attempts = 0
    user.locked_until = None
    if crypto.needs_rehash(user.password_hash, config.argon2):
        user.password_hash = crypto.hash_password(password, config.argon2)
    key = None
    if not needs_enrolment and user.wrapped_key is not None:
        key = crypto.unwrap_private_key(user.wrapped_key, password)
    return Verified(user.id, needs_enrolment, key)


def start_enrolment(session: Session, user_id: str) -> User:
    """Give the user a TOTP secret to scan (kept until confirmed)."""
    user = session.get(User, user_id)
    if user is None:
        raise InvalidCredentials()
    if user.totp_secret is None or not user.totp_confirmed:
        user.totp_secret = user.totp_secret or totp.new_secret()
    return user


def complete_enrolment(db: Database, config: CaseworkConfig, *, user_id: str, code: str,
                       new_password: str, previous_password: str = "",
                       now: float | None = None) -> crypto.PrivateKey | None:
    """Confirm TOTP, set the chosen password, and wrap (or make) the private key.

    Failures are committed (they count towards the lockout) before the error is raised.
    """
    with db.session() as session:
        outcome = _enrol(session, config, user_id, code, new_password, previous_password, now)
    if isinstance(outcome, CaseworkError):
        raise outcome
    return outcome


def _enrol(session: Session, config: CaseworkConfig, user_id: str, code: str,
           new_password: str, previous_password: str,
           now: float | None) -> crypto.PrivateKey | CaseworkError | None:
    """The enrolment itself (see :func:`complete_enrolment`).

    A reviewer whose password was reset keeps their key by giving the previous password,
    which rewraps it; otherwise a new key pair is made and old cases must be re-addressed
    to it with the escrow key (see casework CLI ``keys``).
    """
    user = session.get(User, user_id)
    if user is None or user.totp_secret is None:
        return InvalidCredentials()
    if len(new_password) < MIN_PASSWORD:
        return InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step, now)
    if step is None:
        _register_failure(user, config)
        return InvalidCredentials()
    key: crypto.PrivateKey | None = None
    if user.wrapped_key is not None and previous_password:
        try:
            key = crypto.unwrap_private_key(user.wrapped_key, previous_password)
        except crypto.WrongPassphrase:
            return InvalidInput("the previous password does not open your key")
    if key is None and user.roles & KEY_HOLDING_ROLES:
        key = crypto.PrivateKey.generate()
    if key is not None:
        user.wrapped_key = crypto.wrap_private_key(key, new_password, config.argon2)
        user.public_key = key.public_key.raw
    user.password_hash = crypto.hash_password(new_password, config.argon2)
    user.totp_last_step = step
    user.totp_confirmed = True
    user.must_change_password = False
    user.failed_attempts = 0
    return key


def reset_password(session: Session, config: CaseworkConfig, username: str) -> str:
    """Give a user a temporary password; they re-enrol TOTP and choose a new one."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"there is no user {username!r}")
    password = temporary_password()
    user.password_hash = crypto.hash_password(password, config.argon2)
    user.must_change_password = True
    user.totp_confirmed = False
    user.totp_secret = None
    user.failed_attempts = 0
    user.locked_until = None
    return password


def rotate_key(session: Session, config: CaseworkConfig, username: str,
               password: str) -> crypto.PublicKey:
    """Give a key holder a new key pair, wrapped under their current password."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not crypto.verify_password(user.password_hash, password):
        raise InvalidCredentials()
    key = crypto.PrivateKey.generate()
    user.wrapped_key = crypto.wrap_private_key(key, password, config.argon2)
    user.public_key = key.public_key.raw
    return key.public_key


def readdress_cases_to(session: Session, username: str, escrow: crypto.PrivateKey) -> int:
    """After a key was lost and rotated: add the person's new key to their units' cases.

    The offline escrow key opens each envelope's content key; the new key is added as a
    recipient (the bodies are not touched). Returns how many envelopes were readdressed.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.public_key is None:
        raise InvalidInput(f"{username!r} has no key to readdress to")
    new_key = crypto.PublicKey(user.public_key)
    units = user.units_with(Role.REVIEWER, Role.UNIT_LEAD)
    count = 0
    envelopes = session.scalars(select(CaseEnvelope).join(Case).where(Case.unit_id.in_(units)))
    for envelope in envelopes:
        if envelope.kind == "identity":
            continue  # identities stay with the custodians
        try:
            content_key = crypto.open_content_key(envelope.header, escrow)
        except crypto.DecryptionError:
            continue  # not sealed to escrow (e.g. the tipster-only copy): nothing to add
        updated = crypto.add_recipient(envelope.header, content_key, new_key)
        if updated != envelope.header:
            envelope.header = updated
            count += 1
    return count
