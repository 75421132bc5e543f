"""``/healthz`` and ``/readyz`` of casework (common/health.py).

Public in the permission table (casework/permissions.py): a load balancer or systemd
probe has no staff session, and the sign-in gate would answer its GET with the sign-in
form. They say only "ok" or which check fails, never why; they open no unit of work (no
database transaction of the request's, so nothing is written and no audit entry is
made) and set no cookie.
"""

from __future__ import annotations

from flask import Blueprint, Response

from common import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def live() -> Response:
    """The process answers."""
    return health.live()


@bp.get("/readyz")
def ready() -> Response:
    """Database, schema, storage and (when configured) Redis are usable."""
    return health.ready()
