"""Staff sessions: the key lives server-side only locked under a secret in the cookie.

A stolen session table alone, or a stolen cookie alone, decrypts nothing; signing out
deletes the row, so the cookie's secret opens nothing any more. An expired row is
deleted for good when it is next presented (in its own committed transaction), and
:func:`sweep_expired_sessions` removes the ones nobody presents again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

import crypto
from common.db import Database

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


def _is_expired(config: CaseworkConfig, row: StaffSession, now: dt.datetime) -> bool:
    idle = dt.timedelta(seconds=config.session_idle_seconds)
    absolute = dt.timedelta(seconds=config.session_absolute_seconds)
    return now - row.last_seen_at > idle or now - row.created_at > absolute


def resume_session(db: Database, config: CaseworkConfig, session_id: str,
                   secret: bytes) -> Current:
    """The session's user and key, or :class:`SessionExpired` (idle or absolute limit).

    An expired session (or one of a deactivated person) is deleted, and that deletion is
    committed before the error is raised: raising inside the transaction used to roll it
    back, leaving the row and its locked key in the store.
    """
    with db.session() as session:
        outcome = _resume(session, config, session_id, secret)
    if isinstance(outcome, SessionExpired):
        raise outcome
    return outcome


def _resume(session: Session, config: CaseworkConfig, session_id: str,
            secret: bytes) -> Current | SessionExpired:
    row = session.get(StaffSession, session_id)
    if row is None:
        return SessionExpired()
    now = utcnow()
    if _is_expired(config, row, now):
        session.delete(row)
        return SessionExpired()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        session.delete(row)
        return SessionExpired()
    key = None
    if row.locked_key is not None:
        try:
            key = crypto.unlock_key(row.locked_key, secret)
        except crypto.DecryptionError:
            # A wrong secret is not the owner: the row stays for the real cookie.
            return SessionExpired()
    row.last_seen_at = now
    return Current(row.id, user, key)


def sweep_expired_sessions(session: Session, config: CaseworkConfig) -> int:
    """Delete every session past its idle or absolute limit; returns how many."""
    now = utcnow()
    idle_cutoff = now - dt.timedelta(seconds=config.session_idle_seconds)
    absolute_cutoff = now - dt.timedelta(seconds=config.session_absolute_seconds)
    result = session.connection().execute(delete(StaffSession).where(
        or_(StaffSession.last_seen_at < idle_cutoff, StaffSession.created_at < absolute_cutoff)))
    return result.rowcount


def close_session(session: Session, session_id: str) -> None:
    """Sign out: delete the server half (the locked key goes with it)."""
    session.execute(delete(StaffSession).where(StaffSession.id == session_id))


def close_all_sessions(session: Session, user_id: str) -> None:
    """End every session of a user (password reset, deactivation)."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
