"""The jobs that live with the job system: the bridge cycle and the session sweep.

Each takes the instance folder, builds the app from it (the same folder the apps use:
``LYKTA_INSTANCE``, else the checkout's instance/, never one relative to wherever the
worker started) and does one run. The other jobs live beside their domains
(``casework.reminders``, ``casework.retention_jobs``, ``casework.audit.verification``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Flask

from ..services import EXTENSION, Casework

log = logging.getLogger("lykta.casework.jobs")


# The app of this worker, by instance folder (see app_for), with the process that made it.
_preloaded: dict[Path, tuple[int, Flask]] = {}


def preload(app: Flask) -> None:
    """Keep ``app`` for the jobs of its instance that this process, or the work horses it
    forks, will run (``jobs worker`` does this once at its start)."""
    services: Casework = app.extensions[EXTENSION]
    _preloaded[services.config.instance_path.resolve()] = (os.getpid(), app)


def app_for(instance_path: str | None) -> Flask:
    """The casework app of the instance at ``instance_path`` (default: the apps').

    A worker builds its app once, at start (:func:`preload`), and each job's work horse
    (a fork) uses it: building one per job would repeat start-up (migrations checked, the
    store swept against every envelope row) for every bridge cycle. Connections are not
    shared across a fork: the horse drops the pool it inherited (without closing the
    parent's connections) and opens its own. A job for another folder, or one run where
    nothing was preloaded, builds the app from that folder's settings.
    """
    from .. import create_app, default_instance
    from ..config import CaseworkConfig

    path = Path(instance_path).resolve() if instance_path else default_instance()
    found = _preloaded.get(path)
    if found is None:
        return create_app(CaseworkConfig.from_instance(path))
    pid, app = found
    if pid != os.getpid():
        app.extensions[EXTENSION].db.engine.dispose(close=False)
        _preloaded[path] = (os.getpid(), app)
    return app


def services_for(instance_path: str | None) -> Casework:
    """The casework services of the instance at ``instance_path`` (see :func:`app_for`)."""
    services: Casework = app_for(instance_path).extensions[EXTENSION]
    return services


def sync_job(instance_path: str | None = None) -> dict[str, Any]:
    """One bridge cycle for the casework instance at ``instance_path`` (rq job).

    A cycle is not one unit of work but one per step (``casework/bridge/``): each
    imported item commits in a unit of its own and its events reach the app's dispatcher
    when it does; the acknowledgement to intake follows those commits, never precedes
    them. So two cycles at once, or a retried one, deliver every envelope exactly once.
    """
    from ..bridge import BridgeError, client_for, run_cycle

    services = services_for(instance_path)
    try:
        return asdict(run_cycle(services, client_for(services)))
    except BridgeError as exc:
        # A failed cycle changed nothing it could lose (import commits before ack; a
        # malformed answer is refused before anything changes): say why, by reason only,
        # and fail the job so rq counts it (and retries it, casework.jobs.queues.BRIDGE).
        log.warning("bridge cycle failed: %s", exc)
        raise


def sweep_job(instance_path: str | None = None) -> dict[str, int]:
    """Delete expired sessions, enrolments and old failure counters (rq job)."""
    from ..housekeeping import sweep

    services = services_for(instance_path)
    with services.unit() as work:
        swept = sweep(work.session, services.config)
    return asdict(swept)
