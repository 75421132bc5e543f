"""Handling a case: take it back, transfer it, escalate it, refer it; bulk handover.

Each view parses its form, calls one domain function and says what happened. A form
that does not validate (no CSRF token is refused before this, by Flask-WTF) is a 400
with nothing changed; every rule is the domain's (``casework.assignment``,
``casework.handover``, ``casework.escalation``).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..assignment import transfer, unassign
from ..case_view import refusal
from ..escalation import escalate, refer
from ..handling_forms import (
    EscalateForm,
    HandoverForm,
    ReferForm,
    TransferForm,
    UnassignForm,
    handover_forms,
)
from ..handover import SKIP_REASONS, hand_over, handover_people
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("handling", __name__)

SKIP_LABELS = {
    "excluded": _l("the tipster left this person out"),
    "not-a-reader": _l("this person does not read in the case's unit"),
    "inactive": _l("this person's account is closed"),
    "key-awaits-approval": _l("this person's key awaits approval"),
    "conflict": _l("this person declared a conflict of interest on the case"),
    "unreadable": _l("you cannot read this case"),
    "tampered": _l("the case's reader list failed its check (tell the security officer)"),
}
assert set(SKIP_LABELS) == set(SKIP_REASONS)  # noqa: S101 (a new reason needs words)


def _valid(form: UnassignForm | TransferForm | EscalateForm | ReferForm | HandoverForm) -> None:
    if not form.validate_on_submit():
        raise refusal(_l("the form was incomplete or too long; nothing was changed"))


def _back(case_id: str) -> Response:
    return redirect(url_for("cases.show", case_id=case_id, _anchor="handling"))


@bp.post("/cases/<case_id>/unassign", endpoint="unassign")
def unassign_view(case_id: str) -> Response:
    """A lead takes the case back from one person."""
    form = UnassignForm(prefix="unassign")
    _valid(form)
    person = signed_in()
    removed = unassign(current(), current_unit().session, person.user, person.key, case_id,
                       form.person.data or "")
    flash(_("The assignment was removed; their key was taken off %(count)s envelopes.",
            count=removed) if removed else
          _("The assignment was removed. They still read the case as one of its readers."))
    return _back(case_id)


@bp.post("/cases/<case_id>/transfer", endpoint="transfer")
def transfer_view(case_id: str) -> Response:
    """A lead moves the case from one assignee to another person."""
    form = TransferForm(prefix="transfer")
    _valid(form)
    person = signed_in()
    transfer(current(), current_unit().session, person.user, person.key, case_id,
             form.giver.data or "", form.receiver.data or "")
    flash(_("The case was transferred."))
    return _back(case_id)


@bp.post("/cases/<case_id>/escalate", endpoint="escalate")
def escalate_view(case_id: str) -> Response:
    """A lead escalates the case to another unit or to KOF."""
    form = EscalateForm(prefix="escalate")
    _valid(form)
    person = signed_in()
    added = escalate(current(), current_unit().session, person.user, person.key, case_id,
                     form.unit.data or "", form.reason_code.data or "",
                     form.reason_text.data or "")
    flash(_("The case was escalated. %(count)s new readers can open it.", count=added))
    return _back(case_id)


@bp.post("/cases/<case_id>/refer", endpoint="refer")
def refer_view(case_id: str) -> Response:
    """A lead records a referral to an external authority; the tipster is told."""
    form = ReferForm(prefix="refer")
    _valid(form)
    person = signed_in()
    refer(current(), current_unit().session, person.user, person.key, case_id,
          form.authority.data or "", form.reason_code.data or "", form.reason_text.data or "")
    flash(_("The referral was recorded. The tipster is told at the next sync."))
    return _back(case_id)


@bp.get("/handover")
def handover() -> str:
    """The handover form for unit leads."""
    person = signed_in()
    givers, receivers = handover_people(current_unit().session, person.user)
    return render_template("handover.html", form=handover_forms(givers, receivers),
                           result=None, skip_labels=SKIP_LABELS)


@bp.post("/handover")
def handover_submit() -> str:
    """Hand all of one person's cases (in the lead's units) over to another."""
    form = HandoverForm()
    _valid(form)
    person = signed_in()
    result = hand_over(current(), current_unit().session, person.user, person.key,
                       form.giver.data or "", form.receiver.data or "")
    return render_template("handover.html", form=None, result=result,
                           skip_labels=SKIP_LABELS)
