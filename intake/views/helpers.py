"""Small request-parsing helpers shared by the intake views."""

from __future__ import annotations

import base64
import binascii
import time

from flask import current_app, request, session
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

import crypto
from common.unit_of_work import request_unit

from ..dialogue import sign_out
from ..errors import RejectedUpload, SessionExpired
from ..sealing import Upload
from ..services import current
from ..uploads import SealingRequest, spool_of

SESSION_KEY = "tipster"


def work_session() -> Session:
    """The session of this request's unit of work: committed if the answer is below 400,
    rolled back otherwise (bodies staged in it included)."""
    return request_unit(current_app).session


def collect_uploads(field_name: str) -> list[Upload]:
    """The non-empty uploads of a multi-file field, as sealed spools.

    Browsers send one empty part when no file is chosen; that is not an upload. A named
    but empty file is refused so that nobody believes a document was delivered.
    """
    uploads = []
    for storage in request.files.getlist(field_name):
        spool = spool_of(storage)
        if spool is None:
            continue
        sealed = spool.finish()
        if not storage.filename:
            continue
        if sealed.plaintext_size == 0:
            raise RejectedUpload(_l("One of the files is empty. Nothing was saved."), 400)
        uploads.append(Upload(spool, storage.filename, storage.mimetype or ""))
    return uploads


def spool_key() -> crypto.PrivateKey | None:
    """The per-request key that uploads were sealed to."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    return req.spool_key if isinstance(req, SealingRequest) else None


def remember_session(session_id: str, secret: bytes) -> None:
    """Put the session id and its secret (the cookie half) into the signed cookie."""
    session.clear()
    now = int(time.time())
    # "since" never changes after sign-in (the cookie is signed, so it cannot be reset):
    # it bounds the session's whole life, "seen" only the idle time.
    session[SESSION_KEY] = {"id": session_id,
                            "secret": base64.b64encode(secret).decode("ascii"),
                            "seen": now, "since": now}


def current_session(idle_seconds: int, absolute_seconds: int) -> tuple[str, bytes]:
    """The session id and secret from the cookie, or :class:`SessionExpired`.

    Expired when idle for longer than ``idle_seconds``, or signed in longer ago than
    ``absolute_seconds`` however active; then the server half is destroyed too.
    """
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        raise SessionExpired()
    try:
        seen = int(data["seen"])
        since = int(data["since"])
        session_id = str(data["id"])
        secret = base64.b64decode(data["secret"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise SessionExpired() from exc
    now = time.time()
    if now - seen > idle_seconds or now - since > absolute_seconds:
        session.pop(SESSION_KEY, None)
        # The row would otherwise live on until its purge time; nothing may reopen it.
        sign_out(current(), session_id)
        raise SessionExpired()
    data["seen"] = int(time.time())
    session[SESSION_KEY] = data
    return session_id, secret
