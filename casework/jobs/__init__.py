"""Background work: named rq queues on Redis, or in-process when embedded.

Production runs ``flask --app casework jobs schedule`` (one leader at a time across
machines queues the bridge cycle every ``bridge_interval_seconds``, reminders hourly, the
session sweep hourly, retention daily: :mod:`.schedule`) and any number of
``flask --app casework jobs worker`` processes on any machines that reach the casework
database and Redis. The embedded default has no Redis: the scheduler runs each job in its
own process. Every job is idempotent and says why in :mod:`.queues`; failed jobs are
shown to administrators by class name only (:mod:`.failures`, /admin/jobs/).
"""

from __future__ import annotations

from pathlib import Path

from .queues import (
    BRIDGE,
    BRIDGE_QUEUE,
    KINDS,
    MAIL_QUEUE,
    MAINTENANCE_QUEUE,
    PURGE,
    QUEUES,
    REMINDERS,
    SWEEP,
    VERIFY,
    Kind,
    enqueue,
)
from .work import sweep_job, sync_job

__all__ = ["BRIDGE", "BRIDGE_QUEUE", "KINDS", "MAIL_QUEUE", "MAINTENANCE_QUEUE", "PURGE",
           "QUEUES", "REMINDERS", "SWEEP", "VERIFY", "Kind", "enqueue", "enqueue_sync",
           "sweep_job", "sync_job"]


def enqueue_sync(redis_url: str | None, instance_path: Path) -> str:
    """Queue one bridge cycle on Redis (returns the job id), or run it now without Redis."""
    return enqueue(redis_url, BRIDGE, instance_path)
