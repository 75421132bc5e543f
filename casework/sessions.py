"""Staff sessions: the key lives server-side only locked under a secret in the cookie.

A stolen session table alone, or a stolen cookie alone, decrypts nothing; signing out
deletes the row, so the cookie's secret opens nothing any more. A session is resumed in
the request's unit of work; an expired row is deleted for good when it is next presented
(in a short transaction of its own: the request answers 401 and its unit rolls back),
and :func:`sweep_expired_sessions` removes the ones nobody presents again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, event, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import crypto
from common.db import Database
from common.unit_of_work import emit_on

from .config import CaseworkConfig
from .errors import SessionExpired
from .events import SignedIn, SignedOut
from .models import StaffSession, User
from .models.base import utcnow

log = logging.getLogger("lykta.casework.sessions")


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
    emit_on(session, SignedIn(user_id))
    return Grant(row.id, secret)


def _is_expired(config: CaseworkConfig, row: StaffSession, now: dt.datetime) -> bool:
    idle = dt.timedelta(seconds=config.session_idle_seconds)
    absolute = dt.timedelta(seconds=config.session_absolute_seconds)
    return now - row.last_seen_at > idle or now - row.created_at > absolute


def resume_session(session: Session, db: Database, config: CaseworkConfig, session_id: str,
                   secret: bytes) -> Current:
    """The session's user and key, or :class:`SessionExpired` (idle or absolute limit).

    ``session`` is the request's: a resumed session's ``last_seen_at`` commits with the
    request. An expired session (or one of a deactivated person) is deleted in a short
    transaction of its own on ``db``, committed before the error is raised: the request
    answers 401, which rolls its unit back, and the row and its locked key must go
    anyway. (Only reads happened in ``session`` before that, so SQLite is not locked.)
    """
    outcome = _resume(session, config, session_id, secret)
    if isinstance(outcome, _Ended):
        # Release the request's transaction first: on SQLite it holds the write lock from
        # its BEGIN (common/db.py, immediate writes), which the own transaction would wait
        # for in vain. Only reads happened in it, and the request rolls back anyway.
        session.rollback()
        with db.session() as own:
            close_session(own, session_id)
        raise SessionExpired()
    if isinstance(outcome, SessionExpired):
        raise outcome
    return outcome


class _Ended(SessionExpired):
    """Expired or of a deactivated person: the row is to be deleted."""


def _resume(session: Session, config: CaseworkConfig, session_id: str,
            secret: bytes) -> Current | SessionExpired:
    row = session.get(StaffSession, session_id)
    if row is None:
        return SessionExpired()
    now = utcnow()
    if _is_expired(config, row, now):
        return _Ended()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return _Ended()
    key = None
    if row.locked_key is not None:
        try:
            key = crypto.unlock_key(row.locked_key, secret)
        except crypto.DecryptionError:
            # A wrong secret is not the owner: the row stays for the real cookie.
            return SessionExpired()
    # Written when the transaction commits, not now: the request's unit then takes the
    # database's write lock as late as it can (never across an administrator's Argon2
    # hashing in create-user, say). A refused request still counts as activity: when the
    # unit rolls back, the touch is written on its own (see _touch_after_rollback).
    session.info[_TOUCH] = (row.id, now)
    return Current(row.id, user, key)


_TOUCH = "lykta_casework_session_seen"


@event.listens_for(Session, "before_commit")
def _touch_on_commit(session: Session) -> None:
    """Record that a resumed session was used, as the last write of its transaction."""
    touched: tuple[str, dt.datetime] | None = session.info.pop(_TOUCH, None)
    if touched is not None:
        session_id, now = touched
        session.execute(update(StaffSession).where(StaffSession.id == session_id)
                        .values(last_seen_at=now))


@event.listens_for(Session, "after_rollback")
def _touch_after_rollback(session: Session) -> None:
    """A request answered 4xx (its unit rolled back) was still the holder's activity.

    Written in a short transaction of its own, on purpose, as before the unit of work:
    the rollback has released the database, so this neither waits for it nor undoes
    anything of the refused action.
    """
    touched: tuple[str, dt.datetime] | None = session.info.pop(_TOUCH, None)
    bind = session.get_bind() if touched is not None else None
    if touched is None or bind is None:
        return
    session_id, now = touched
    try:
        with bind.engine.begin() as connection:
            connection.execute(update(StaffSession).where(StaffSession.id == session_id)
                               .values(last_seen_at=now))
    except SQLAlchemyError as exc:
        # Only the type, as everywhere; the next request touches it again.
        log.warning("a session's last use was not recorded: %s", type(exc).__name__)


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


def sign_out(session: Session, session_id: str, user_id: str) -> None:
    """The holder signs out: their session (and the key locked in it) is deleted."""
    close_session(session, session_id)
    emit_on(session, SignedOut(user_id))


def close_all_sessions(session: Session, user_id: str) -> None:
    """End every session of a user (password reset, deactivation)."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
