"""``/healthz`` and ``/readyz`` of the intake app and of its sync app (common/health.py).

Both apps register this blueprint. On the public app nginx does not pass these paths
from the onion service (ops/nginx): a tipster's network has no use for them. Were they
reached anyway, they say only "ok" or which check fails, never why, set no cookie and
write nothing.
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
    """Database, schema and storage are usable."""
    return health.ready()
