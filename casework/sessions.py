"""Staff sessions: the key lives server-side only locked under a secret in the cookie.

A stolen session table alone, or a stolen cookie alone, decrypts nothing; signing out
deletes the row, so the cookie's secret opens nothing any more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

import crypto

from .config import CaseworkConfig
from .errors import SessionExpired
from .models import StaffSession, User
from .models.base import utcnow


@dataclass(frozen=True)
class Grant:
    """What goes into the cookie after sign-in."""

    session_id: str
    secret: bytes


@dataclass(frozen=True)
class Current:
    """The signed-in person for this request."""

    session_id: str
    user: User
    key: crypto.PrivateKey | None


def open_session(session: Session, user_id: str, key: crypto.PrivateKey | None) -> Grant:
    """Start a session; any previous session id in the cookie is replaced (no fixation)."""
    secret = crypto.new_session_secret()
    row = StaffSession(user_id=user_id,
                       locked_key=crypto.lock_key(key, secret) if key is not None else None)
    session.add(row)
    session.flush()
    return Grant(row.id, secret)


def resume_session(session: Session, config: CaseworkConfig, session_id: str,
                   secret: bytes) -> Current:
    """The session's user and key, or :class:`SessionExpired` (idle or absolute limit)."""
    row = session.get(StaffSession, session_id)
    if row is None:
        raise SessionExpired()
    now = utcnow()
    idle = dt.timedelta(seconds=config.session_idle_seconds)
    absolute = dt.timedelta(seconds=config.session_absolute_seconds)
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        session.delete(row)
        raise SessionExpired()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        session.delete(row)
        raise SessionExpired()
    key = None
    if row.locked_key is not None:
        try:
            key = crypto.unlock_key(row.locked_key, secret)
        except crypto.DecryptionError as exc:
            raise SessionExpired() from exc
    row.last_seen_at = now
    return Current(row.id, user, key)


def close_session(session: Session, session_id: str) -> None:
    """Sign out: delete the server half (the locked key goes with it)."""
    session.execute(delete(StaffSession).where(StaffSession.id == session_id))


def close_all_sessions(session: Session, user_id: str) -> None:
    """End every session of a user (password reset, deactivation)."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
