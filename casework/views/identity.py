"""Confidential identities under four eyes (casework.identity): a reader's request, a
custodian's decision, reading an approved identity.

Thin: each view parses its form, calls one domain function and says what happened. A
form that does not validate (a missing CSRF token is refused before this, by Flask-WTF)
is a 400 with nothing changed; every rule is the domain's.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..identity import decide, read_identity, request_identity, withdraw_request
from ..identity_forms import (
    NOTICE_LABELS,
    STATUS_LABELS,
    WithdrawForm,
    decide_form,
    reason_label,
    request_form,
)
from ..identity_queue import custodian_queue
from ..models import IdentityRequestStatus, ReporterNotice
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("identity", __name__)
# Ids are 32 hex digits; a longer one is no id (and would make a long form prefix).
MAX_ID = 64


def _id(value: str) -> str:
    if len(value) > MAX_ID:
        raise refusal(_l("that is not a request"))
    return value


@bp.post("/cases/<case_id>/identity/requests", endpoint="request")
def request_view(case_id: str) -> Response:
    """A reader asks for the reporter's identity."""
    form = request_form()
    if not form.validate_on_submit():
        raise refusal(_l("choose a reason and explain it (within the limit); nothing was "
                         "changed"))
    person = signed_in()
    request_identity(current(), current_unit().session, person.user, person.key,
                     _id(case_id), form.reason_code.data or "", form.reason_text.data or "")
    flash(_("Your request was sent to the custodians. You will see their decision here."))
    return redirect(url_for("cases.show", case_id=case_id, _anchor="identity"))


@bp.post("/identity/requests/<request_id>/withdraw")
def withdraw(request_id: str) -> Response:
    """The requester takes a pending request back."""
    if not WithdrawForm(prefix="withdraw").validate_on_submit():
        raise refusal(_l("the form had no valid token; nothing was changed"))
    person = signed_in()
    case_id = withdraw_request(current(), current_unit().session, person.user, person.key,
                               _id(request_id))
    flash(_("Your request was withdrawn."))
    return redirect(url_for("cases.show", case_id=case_id, _anchor="identity"))


@bp.get("/identity/requests/<request_id>", endpoint="read")
def read_view(request_id: str) -> str:
    """The approved requester reads the identity (every reading is audited)."""
    person = signed_in()
    shown = read_identity(current(), current_unit().session, person.user, person.key,
                          _id(request_id))
    return render_template("identity_read.html", shown=shown)


@bp.get("/identity/requests/")
def queue() -> str:
    """The custodian's requests: those waiting, and those decided."""
    person = signed_in()
    pending, decided = custodian_queue(current(), current_unit().session, person.user,
                                       person.key)
    forms = {row.id: decide_form(row.id) for row in pending if row.may_decide}
    return render_template("identity_queue.html", pending=pending, decided=decided,
                           forms=forms, reason_label=reason_label,
                           status_labels=STATUS_LABELS, notice_labels=NOTICE_LABELS)


@bp.post("/identity/requests/<request_id>/decide", endpoint="decide")
def decide_view(request_id: str) -> Response:
    """A custodian approves (telling the reporter first, or recording why not) or refuses."""
    form = decide_form(_id(request_id))
    if not form.validate_on_submit() or form.decision.data not in ("approve", "refuse"):
        raise refusal(_l("choose a decision and a reason and explain it (within the "
                         "limit); nothing was changed"))
    notice = None
    if form.notice.data:
        try:
            notice = ReporterNotice(form.notice.data)
        except ValueError as exc:
            raise refusal(_l("say whether the reporter is told first")) from exc
    person = signed_in()
    status = decide(current(), current_unit().session, person.user, person.key, request_id,
                    form.decision.data == "approve", form.decision_code.data or "",
                    form.decision_text.data or "", notice, form.notice_text.data or "")
    if status == IdentityRequestStatus.REFUSED:
        flash(_("The request was refused. The requester sees your reason."))
    elif notice == ReporterNotice.TOLD:
        flash(_("The request was approved. The reporter is told first: the requester can "
                "read the identity once the notice has reached the reporter's dialogue."))
    else:
        flash(_("The request was approved without telling the reporter; your reason is "
                "recorded. The requester can read the identity now."))
    return redirect(url_for("identity.queue"))
