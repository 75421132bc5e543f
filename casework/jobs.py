"""Background work: the bridge cycle as an rq job (Redis), or in-process when embedded.

Production runs ``flask --app casework bridge schedule`` (enqueues a cycle every N
seconds) and any number of ``rq worker lykta`` processes on any machines that reach the
casework database and Redis. The embedded default has no Redis: the same job runs in a
thread of the scheduling process. Concurrent cycles are safe: import is idempotent and
acknowledgement follows the commit.

A cycle is not one unit of work but one per step (``casework/bridge/``): each imported
item commits in a unit of its own and its events (``CaseOpened``, ``ItemImported``,
``AcknowledgedAutomatically``) reach the app's dispatcher when it does; the
acknowledgement to intake follows those commits, never precedes them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

QUEUE_NAME = "lykta"
log = logging.getLogger("lykta.casework.jobs")


def sync_job(instance_path: str | None = None) -> dict[str, Any]:
    """One bridge cycle for the casework instance at ``instance_path`` (rq job)."""
    from . import create_app, default_instance
    from .bridge import BridgeError, client_for, run_cycle
    from .config import CaseworkConfig
    from .services import EXTENSION

    # The same folder the apps use (LYKTA_INSTANCE, else the checkout's instance/), not
    # one relative to wherever the worker happened to start.
    path = Path(instance_path).resolve() if instance_path else default_instance()
    app = create_app(CaseworkConfig.from_instance(path))
    services = app.extensions[EXTENSION]
    try:
        return asdict(run_cycle(services, client_for(services)))
    except BridgeError as exc:
        # A failed cycle changed nothing it could lose (import commits before ack; a
        # malformed answer is refused before anything changes): say why, by reason only,
        # and fail the job so rq counts it; the next scheduled cycle retries.
        log.warning("bridge cycle failed: %s", exc)
        raise


def enqueue_sync(redis_url: str | None, instance_path: Path) -> str:
    """Queue one cycle on Redis (returns the job id), or run it now without Redis."""
    if not redis_url:
        return str(sync_job(str(instance_path)))
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
    job = queue.enqueue(sync_job, str(instance_path), job_timeout=3600, result_ttl=3600)
    return str(job.id)
