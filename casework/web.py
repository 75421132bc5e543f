"""Request plumbing: who is signed in, enforced once per request from the permission table."""

from __future__ import annotations

import base64
import binascii
import logging

from flask import Flask, current_app, g, request, session

from .errors import NotPermitted, SessionExpired
from .permissions import PENDING, PERMISSIONS, PUBLIC, allowed
from .services import current
from .sessions import Current, resume_session

SESSION_KEY = "staff"
ENROL_KEY = "enrol"
log = logging.getLogger("lykta.casework")


def remember(session_id: str, secret: bytes) -> None:
    """Store the session id and its secret in a fresh signed cookie (no fixation)."""
    session.clear()
    session[SESSION_KEY] = {"id": session_id,
                            "secret": base64.b64encode(secret).decode("ascii")}


def signed_in() -> Current:
    """The current staff member (set by the permission check)."""
    person: Current = g.current
    return person


def _resume() -> Current:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        raise SessionExpired()
    try:
        session_id = str(data["id"])
        secret = base64.b64decode(data["secret"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise SessionExpired() from exc
    services = current()
    try:
        with services.db.session() as db:
            return resume_session(db, services.config, session_id, secret)
    except SessionExpired:
        session.pop(SESSION_KEY, None)
        raise


def install(app: Flask) -> None:
    """Check every request against the permission table before any view runs."""

    @app.before_request
    def enforce() -> None:
        endpoint = request.endpoint
        if endpoint is None:
            return  # 404/405: nothing to protect
        rule = PERMISSIONS.get(endpoint)
        if rule == PUBLIC:
            return
        if rule == PENDING:
            if not isinstance(session.get(ENROL_KEY), dict):
                raise SessionExpired()
            return
        person = _resume()
        g.current = person
        if not allowed(endpoint, person.user.roles):
            g.refused_by_table = True  # lets the route-by-role test tell who refused
            log.warning("refused %s for roles %s", endpoint,
                        ",".join(sorted(person.user.roles)))
            raise NotPermitted()

    @app.context_processor
    def inject_person() -> dict[str, object]:
        return {"person": g.get("current"), "app_name": current_app.name}
