"""The open-data API's domain: published releases as JSON, and the per-token rate limit.

The API reads ``StatisticsRelease`` rows and nothing else: a release's tables are served
exactly as they were published (already through disclosure control, in the export
schema), never computed live from cases, so no answer can hold a case id, a reference or
a date finer than a period. ``released_at`` is shown as a date.

The rate limit is a fixed window of one minute per token: with Redis (``redis_url``) one
counter per token and window (INCR, then EXPIRE), shared by every worker; without it a
dictionary in this process, so each worker process counts on its own and the effective
limit is ``statistics_api_per_minute`` times the number of workers.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ..errors import CaseworkError
from ..models import StatisticsRelease
from .tokens import ID_SHAPE

PAGE_SIZE = 100  # releases per page of the list; ?after=<last id> for the next
WINDOW_SECONDS = 60


class MalformedRequest(CaseworkError):
    """A parameter is not what the API takes (e.g. a cursor that names no release)."""

    status = 400
    title = _l("Malformed request")
    explanation = _l("A parameter was not valid. See /api/v1/openapi.json.")


class ReleaseNotFound(CaseworkError):
    """No published release has this id."""

    status = 404
    title = _l("No such release")
    explanation = _l("No published release has this id.")


class RateLimited(CaseworkError):
    """The token made more requests this minute than ``statistics_api_per_minute``."""

    status = 429
    title = _l("Too many requests")
    explanation = _l("This token made too many requests this minute. Wait and try again.")

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.headers = {"Retry-After": str(retry_after)}


class LimiterUnavailable(CaseworkError):
    """The shared rate-limit store (Redis) did not answer: refuse rather than go unlimited."""

    status = 503
    title = _l("Temporarily unavailable")
    explanation = _l("The statistics API cannot serve requests just now. Try again later.")


# --- releases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseSummary:
    """One line of the list: never the tables themselves."""

    id: str
    kind: str
    period: str
    released_at: str  # a date, ISO 8601
    schema: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "period": self.period,
                "released_at": self.released_at, "schema": self.schema}


def _schema_of(tables: str) -> str | None:
    # The version the release was published under (it may be older than today's).
    try:
        document = json.loads(tables)
    except ValueError:
        return None
    version = document.get("schema") if isinstance(document, dict) else None
    return str(version) if version is not None else None


def list_releases(session: Session, after: str | None = None,
                  limit: int = PAGE_SIZE) -> tuple[list[ReleaseSummary], str | None]:
    """Published releases, oldest first, ``limit`` at a time after the release ``after``;
    with the id to pass as ``after`` for the next page (None on the last one)."""
    query = select(StatisticsRelease).order_by(StatisticsRelease.released_at,
                                               StatisticsRelease.id)
    if after is not None:
        cursor = session.get(StatisticsRelease, after) if ID_SHAPE.fullmatch(after) else None
        if cursor is None:
            raise MalformedRequest()
        query = query.where(tuple_(StatisticsRelease.released_at, StatisticsRelease.id)
                            > (cursor.released_at, cursor.id))
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    page = [ReleaseSummary(r.id, r.kind, r.period, r.released_at.date().isoformat(),
                           _schema_of(r.tables)) for r in rows]
    return page, (rows[-1].id if more else None)


def release_tables(session: Session, release_id: str) -> str:
    """A published release's tables: the JSON text exactly as it was published."""
    release = session.get(StatisticsRelease, release_id) if ID_SHAPE.fullmatch(
        release_id) else None
    if release is None:
        raise ReleaseNotFound()
    return release.tables


# --- the rate limit ----------------------------------------------------------------------


class Limiter(Protocol):
    def hit(self, key: str) -> None:
        """Count one request of ``key``; :class:`RateLimited` past the limit."""


def _retry_after(now: float) -> int:
    return max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))


class MemoryLimiter:
    """Fixed one-minute windows in this process (per worker: see the module's note)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> None:
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        with self._lock:
            if window != self._window:  # a new minute: forget the last one's counts
                self._window, self._counts = window, {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        if count > self.per_minute:
            raise RateLimited(_retry_after(now))


class RedisLimiter:
    """Fixed one-minute windows in Redis, shared by every worker and process."""

    def __init__(self, url: str, per_minute: int,
                 clock: Callable[[], float] = time.time) -> None:
        from redis import Redis  # only when configured

        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.per_minute = per_minute
        self.clock = clock

    def hit(self, key: str) -> None:
        from redis.exceptions import RedisError

        now = self.clock()
        counter = f"lykta:statistics-api:{key}:{int(now // WINDOW_SECONDS)}"
        try:
            pipe = self.redis.pipeline()
            pipe.incr(counter)
            # The counter outlives its minute a little (a clock skew between workers).
            pipe.expire(counter, 2 * WINDOW_SECONDS)
            count = int(pipe.execute()[0])
        except RedisError as exc:
            raise LimiterUnavailable() from exc
        if count > self.per_minute:
            raise RateLimited(_retry_after(now))


def make_limiter(redis_url: str | None, per_minute: int) -> Limiter:
    """Redis when configured, else in-process."""
    if redis_url:
        return RedisLimiter(redis_url, per_minute)
    return MemoryLimiter(per_minute)
