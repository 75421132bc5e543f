"""Request plumbing: who is signed in, enforced once per request from the permission table."""

from __future__ import annotations

import base64
import binascii
import logging

from flask import Flask, current_app, g, render_template, request, session
from werkzeug.wrappers import Response

from .errors import NotPermitted, SessionExpired
from .forms import LoginForm
from .housekeeping import prepare
from .permissions import PENDING, PERMISSIONS, PUBLIC, allowed
from .services import EXTENSION, Casework, current, current_unit
from .sessions import Current, resume_session

SESSION_KEY = "staff"
ENROL_KEY = "enrol"
# Set when a session ended (sign-out, idle or absolute limit): this browser then sees
# "You are signed out" with a link to sign in, while a browser that never had a session
# sees the sign-in form itself.
ENDED_KEY = "ended"
# Everything casework writes into its (signed, client-side) session cookie. The
# enrolment holds only the id of a server-side row (casework.models.accounts.Enrolment).
SESSION_SHAPE: dict[str, type | dict[str, type]] = {
    SESSION_KEY: {"id": str, "secret": str},
    ENROL_KEY: {"id": str},
    ENDED_KEY: bool,
}
log = logging.getLogger("lykta.casework")


def remember(session_id: str, secret: bytes) -> None:
    """Store the session id and its secret in a fresh signed cookie (no fixation)."""
    session.clear()
    session[SESSION_KEY] = {"id": session_id,
                            "secret": base64.b64encode(secret).decode("ascii")}


def remember_enrolment(enrolment_id: str) -> None:
    """Start a fresh cookie holding only the enrolment's id (no fixation either)."""
    session.clear()
    session[ENROL_KEY] = {"id": enrolment_id}


def forget_session() -> None:
    """Drop everything from the cookie but the fact that a session ended here."""
    session.clear()
    session[ENDED_KEY] = True


def offer_sign_in() -> None:
    """Have the error page link to the sign-in form (the start page would only repeat
    "You are signed out")."""
    g.offer_sign_in = True


def pending_enrolment() -> str:
    """The enrolment id from the cookie, or :class:`SessionExpired`."""
    data = session.get(ENROL_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        offer_sign_in()
        raise SessionExpired()
    enrolment_id: str = data["id"]
    return enrolment_id


def signed_in() -> Current:
    """The current staff member (set by the permission check)."""
    person: Current = g.current
    return person


def _resume() -> Current:
    offer_sign_in()  # any SessionExpired below ends on a page that links to sign-in
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
        # In the request's unit of work: every view after this shares its transaction.
        current_person = resume_session(current_unit().session, services.db, services.config,
                                        session_id, secret)
    except SessionExpired:
        forget_session()
        raise
    g.offer_sign_in = False
    return current_person


def _sign_in_form() -> tuple[str, int]:
    # A first visit (no staff session in the cookie at all) sees the sign-in form, not
    # "you are signed out". 401 still: the page asked for is not shown.
    return render_template("login.html", form=LoginForm()), 401


def install(app: Flask) -> None:
    """Check every request against the permission table before any view runs.

    Also prepares account state once at start-up (:func:`casework.housekeeping.prepare`):
    a private instance folder, the TOTP key, sealed secrets, expired rows swept.
    """
    services: Casework = app.extensions[EXTENSION]
    prepare(services.db, services.config)

    @app.before_request
    def enforce() -> Response | tuple[str, int] | None:
        endpoint = request.endpoint
        if endpoint is None:
            return None  # 404/405: nothing to protect
        rule = PERMISSIONS.get(endpoint)
        if rule == PUBLIC:
            return None
        if rule == PENDING:
            pending_enrolment()
            return None
        first_visit = SESSION_KEY not in session and not session.get(ENDED_KEY)
        if first_visit and request.method in ("GET", "HEAD"):
            return _sign_in_form()
        person = _resume()
        g.current = person
        if not allowed(endpoint, person.user.roles):
            g.refused_by_table = True  # lets the route-by-role test tell who refused
            log.warning("refused %s for roles %s", endpoint,
                        ",".join(sorted(person.user.roles)))
            raise NotPermitted()
        return None

    @app.context_processor
    def inject_person() -> dict[str, object]:
        return {"person": g.get("current"), "app_name": current_app.name}
