"""Counting failed sign-ins atomically, for accounts and for unknown names alike.

Every change is one SQL statement evaluated by the database (``failed_attempts =
failed_attempts + 1 ... RETURNING``): parallel wrong guesses cannot overwrite each
other's count, which let 30 parallel guesses leave the counter at 2, i.e. no lockout.

Names that are not active accounts are counted too, in ``sign_in_throttle`` under an
HMAC of the name, with the same thresholds and back-off: an unknown name locks exactly
like a real one, so the answers (401 x5, then 429) do not tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from common.db import upsert
from common.unit_of_work import emit_on

from .config import CaseworkConfig
from .errors import CaseworkError, InvalidCredentials
from .events import RefusalReason, SignInRefused
from .models.accounts import SignInThrottle, User
from .models.base import utcnow

NAME_HASH_CONTEXT = b"lykta/casework/sign-in-name/v1\x00"


def name_key(config: CaseworkConfig, username: str) -> str:
    """The throttle key of a name: HMAC-SHA256 under the app secret, never the name."""
    return hmac.new(config.secret_key, NAME_HASH_CONTEXT + username.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def lock_duration(config: CaseworkConfig, failures: int) -> dt.timedelta | None:
    """How long ``failures`` consecutive failures lock for (None: not locked)."""
    excess = failures - config.lockout_threshold
    if excess < 0:
        return None
    # Exponential back-off: 30 s, 60 s, 120 s ... capped at an hour. The exponent is
    # capped too, so a huge count cannot make a huge integer.
    seconds = min(config.lockout_base_seconds * 2 ** min(excess, 32), config.lockout_max_seconds)
    return dt.timedelta(seconds=seconds)


def is_locked(locked_until: dt.datetime | None) -> bool:
    """True while a lock set by :func:`count_failure` / :func:`count_unknown_failure` lasts."""
    return locked_until is not None and locked_until > utcnow()


def count_failure(session: Session, config: CaseworkConfig, user_id: str) -> int:
    """Add one failure to an account, atomically; lock it if over the threshold."""
    now = utcnow()
    forgotten = now - dt.timedelta(seconds=config.failure_memory_seconds)
    count: int = session.connection().execute(
        update(User).where(User.id == user_id)
        .values(failed_attempts=case((User.last_failed_at < forgotten, 1),
                                     else_=User.failed_attempts + 1),
                last_failed_at=now)
        .returning(User.failed_attempts)).scalar_one()
    duration = lock_duration(config, count)
    if duration is not None:
        until = now + duration
        # Only ever lengthen: a parallel request with a lower count must not shorten it.
        session.connection().execute(
            update(User).where(User.id == user_id,
                               or_(User.locked_until.is_(None), User.locked_until < until))
            .values(locked_until=until))
    return count


def unknown_name_locked(session: Session, key: str) -> bool:
    """True if the name with throttle key ``key`` is locked (as an account would be)."""
    locked_until = session.scalar(select(SignInThrottle.locked_until)
                                  .where(SignInThrottle.name_hash == key))
    return is_locked(locked_until)


def count_unknown_failure(session: Session, config: CaseworkConfig, key: str) -> int:
    """Add one failure to an unknown name, atomically (an upsert); lock it likewise."""
    now = utcnow()
    forgotten = now - dt.timedelta(seconds=config.failure_memory_seconds)
    table = SignInThrottle.__table__
    statement = upsert(
        session, SignInThrottle,
        {"name_hash": key, "failed_attempts": 1, "last_failed_at": now},
        key=[table.c.name_hash],
        update={"failed_attempts": case((table.c.last_failed_at < forgotten, 1),
                                        else_=table.c.failed_attempts + 1),
                "last_failed_at": now})
    count: int = session.connection().execute(
        statement.returning(table.c.failed_attempts)).scalar_one()
    duration = lock_duration(config, count)
    if duration is not None:
        until = now + duration
        session.connection().execute(
            update(SignInThrottle).where(
                SignInThrottle.name_hash == key,
                or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < until))
            .values(locked_until=until))
    return count


def forget_old_failures(session: Session, config: CaseworkConfig) -> int:
    """Drop unknown-name counters a day after their last failure (accounts' counters
    restart by the same rule in :func:`count_failure`); returns how many went."""
    forgotten = utcnow() - dt.timedelta(seconds=config.failure_memory_seconds)
    result = session.connection().execute(
        delete(SignInThrottle).where(SignInThrottle.last_failed_at < forgotten))
    return result.rowcount


def refuse(session: Session, config: CaseworkConfig, user_id: str) -> CaseworkError:
    """Count a wrong password or code of an account, tell it, and give the error to raise."""
    count_failure(session, config, user_id)
    emit_on(session, SignInRefused(RefusalReason.CREDENTIALS, user_id))
    return InvalidCredentials()
