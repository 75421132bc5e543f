"""Accounts: creating people, resetting passwords, rotating and approving keys.

Signing in is ``casework.authentication``, enrolment (TOTP set-up, the first password and
key) ``casework.enrolment``. An administrator changes accounts here but never sees
content; whatever could hand someone a key of their choosing needs a second person
(:func:`approve_key`).
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from common.unit_of_work import emit_on

from .config import CaseworkConfig
from .errors import (
    InvalidCredentials,
    InvalidInput,
)
from .events import (
    EmailChanged,
    KeyApproved,
    KeyRotated,
    PasswordReset,
    UserCreated,
)
from .models import Membership, Role, Unit, User
from .models.accounts import Enrolment
from .sessions import close_all_sessions

MIN_PASSWORD = 12
MAX_ADDRESS = 254  # User.email; RFC 5321's limit for a path
# A staff e-mail address (deadline reminders, casework.reminders): plain ASCII, no display
# name, no comments, no whitespace. It goes into a To: header and an SMTP RCPT command as
# it is, so a CR or LF (header injection) or a second address must never pass.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


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


def check_address(text: str | None) -> str | None:
    """A staff e-mail address, checked; None for an empty field (400 if it is not one)."""
    value = (text or "").strip()
    if not value:
        return None
    if len(value) > MAX_ADDRESS or not _ADDRESS.fullmatch(value):
        raise InvalidInput(_l("that is not an e-mail address (name@example.se)"))
    return value


def create_user(session: Session, config: CaseworkConfig, *, username: str, display_name: str,
                unit_id: str, role: Role, password: str | None = None,
                by: str | None = None, email: str | None = None) -> tuple[User, str]:
    """Create an account (to be enrolled at first sign-in); return it and its password."""
    if not is_plain_text(username) or not is_plain_text(display_name):
        raise InvalidInput(_l("names may not contain control characters"))
    email = check_address(email)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput(_l("the user name %(name)s is taken", name=username))
    if session.get(Unit, unit_id) is None:
        raise InvalidInput(_l("there is no unit %(unit)s", unit=unit_id))
    password = password or temporary_password()
    user = User(username=username, display_name=display_name, email=email,
                password_hash=crypto.hash_password(password, config.argon2))
    user.memberships.append(Membership(unit_id=unit_id, role=role.value))
    session.add(user)
    session.flush()
    emit_on(session, UserCreated(user.id, unit_id, role.value, by))
    return user, password


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


def set_email(session: Session, username: str, email: str | None, *, by: str) -> None:
    """An administrator (``by``, a user id) sets or clears a person's e-mail address.

    Only deadline reminders use it (counts and a link, never content). Refused (400,
    nothing changed): an unknown person, an address that is not one.
    """
    address = check_address(email)
    user = session.scalar(select(User).where(User.username == username)) \
        if is_plain_text(username) else None
    if user is None:
        raise InvalidInput(_l("there is no such user"))
    if user.email != address:
        user.email = address
        emit_on(session, EmailChanged(user.id, by))


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


def people(session: Session) -> list[User]:
    """Everyone with an account, by user name (the administrator's list)."""
    return list(session.scalars(select(User).order_by(User.username)))


def units(session: Session) -> list[Unit]:
    """Every unit, for choosing where a new person works."""
    return list(session.scalars(select(Unit).order_by(Unit.id)))
