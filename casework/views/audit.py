"""The auditor's pages: browse and filter the log, export it, have it verified.

Verifying a large log takes minutes, so the page never verifies in its request (which
would hold the database's write lock all that time): "Verify now" posts, a run checks
the chain in the background (casework/audit/verification.py), and the page shows its
progress and outcome.

For auditors only (casework/permissions.py). Nothing here opens an envelope: entries hold
ids and codes, and what is shown beside them is a person's display name and a case's
reference.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from common.unit_of_work import emit_on

from ..audit import browse, checkpoints, verification
from ..events import AuditLogExported
from ..models.base import utcnow
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("audit", __name__, url_prefix="/audit")

_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def _filter() -> tuple[browse.Filter, str | None]:
    """The filter asked for, or an empty one and the name of the bad field."""
    args = {k: v for k, v in request.args.items() if isinstance(v, str)}
    try:
        return browse.Filter.parse(args), None
    except browse.BadFilter as exc:
        return browse.Filter(), exc.field


def _older() -> int | None:
    raw = request.args.get("older", "")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


@bp.get("/")
def index() -> tuple[str, int]:
    """The log, newest first, filtered, a page at a time."""
    wanted, bad = _filter()
    session = current_unit().session
    page = browse.page(session, wanted, _older()) if bad is None else browse.Page([], None)
    return render_template("audit.html", page=page, wanted=wanted, bad=bad,
                           people=browse.people(session), actions=browse.known_actions(),
                           ), 400 if bad else 200


@bp.get("/export")
def export() -> Response | tuple[str, int]:
    """The filtered log as CSV or JSON, streamed."""
    wanted, bad = _filter()
    fmt = request.args.get("format", "csv")
    if bad is not None or fmt not in _TYPES:
        return render_template("error.html", title=_("Not a valid request"), explanation=_(
            "The export's filters or format are not valid: go back to the audit log and "
            "choose them again.")), 400
    emit_on(current_unit().session, AuditLogExported(signed_in().user.id, fmt,
                                                     tuple(sorted(wanted.query()))))
    rows = browse.stream(current().db, wanted)
    chunks = browse.as_csv(rows) if fmt == "csv" else browse.as_json(rows)
    # No request context is needed while streaming: each batch is read in a short
    # transaction of its own (the request's unit has committed by then).
    response = Response(chunks, mimetype=_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="audit-log.{fmt}"'
    return response


def verify_page() -> str:
    """The newest verification run: its outcome, or how far it has got. Starts nothing
    (a GET changes no state): the form below posts to :func:`verify_now`."""
    config = current().config
    key = checkpoints.load_signing_key(config.audit_signing_key_file).verify_key
    run = verification.latest(config)
    return render_template("audit_verify.html", run=run, verify_key=key.raw.hex(),
                           stalled=run is not None and run.stalled(utcnow()))


def verify_now() -> WerkzeugResponse:
    """Start a check of the whole chain in the background (unless one is running)."""
    services = current()
    verification.start(current_unit().session, services.db, services.config,
                       signed_in().user.id)
    # 303: the browser follows with a GET of the result page, which a reload repeats
    # without starting another run.
    return redirect(url_for("audit.verify"), code=303)


bp.add_url_rule("/verify", endpoint="verify", view_func=verify_page, methods=["GET"])
bp.add_url_rule("/verify", endpoint="verify_now", view_func=verify_now, methods=["POST"])
