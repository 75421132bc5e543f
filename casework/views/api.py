"""The statistics API for the transparency portal: read-only JSON, released tables only.

Token-authenticated (``Authorization: Bearer``) and rate-limited in the view; the
permission table lists its routes as public because no staff session is involved. GET
only, so no CSRF token; it never sets a cookie. Errors are JSON
(``{"error": code, "message": ...}``) through the app's one error handler
(casework/errors.py), which answers JSON for this blueprint.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, session
from werkzeug.wrappers import Response

from ..services import current, current_unit
from ..statistics.api import Limiter, list_releases, make_limiter, release_tables
from ..statistics.openapi import spec
from ..statistics.tokens import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")

LIMITER = "lykta_statistics_api_limiter"


def limiter() -> Limiter:
    """The app's rate limiter, made on first use from its configuration."""
    found: Limiter | None = current_app.extensions.get(LIMITER)
    if found is None:
        config = current().config
        found = make_limiter(config.redis_url, config.statistics_api_per_minute)
        current_app.extensions[LIMITER] = found
    return found


def _authorized() -> None:
    # The token first (a refused one is not counted against anyone), then its limit.
    token = authenticate(current_unit().session, request.headers.get("Authorization"))
    limiter().hit(token.id)


@bp.after_request
def no_cookie(response: Response) -> Response:
    # The API is for machines: it neither reads nor writes the staff session. Were the
    # guard to have cleared a malformed cookie, this keeps it from answering Set-Cookie.
    session.modified = False
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    """The description of the API (public: it holds no data)."""
    return jsonify(spec())


@bp.get("/releases")
def releases() -> Response:
    """The published releases, 100 a page (``?after=<id>`` for the next)."""
    _authorized()
    page, following = list_releases(current_unit().session, request.args.get("after"))
    return jsonify(releases=[summary.as_json() for summary in page], next=following)


@bp.get("/releases/<release_id>")
def release(release_id: str) -> Response:
    """One published release's tables, exactly as published."""
    _authorized()
    return Response(release_tables(current_unit().session, release_id),
                    mimetype="application/json")
