"""Oral and in-person reports (casework.oral): record one, hand over its receipt once,
send minutes for approval.

Thin: each view parses its form, calls one domain function and says what happened.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..oral import MAX_MINUTES, oral_units, record_oral_report, send_minutes
from ..oral_forms import CHANNEL_LABELS, MinutesForm, OralReportForm
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("oral", __name__)


def _form_page(form: OralReportForm, status: int = 200) -> tuple[str, int]:
    return render_template("oral_new.html", form=form,
                           enabled=current().config.intake_receipt_salt is not None), status


@bp.get("/oral/new")
def new() -> tuple[str, int]:
    """The form a reader fills in while or after taking an oral report."""
    person = signed_in()
    return _form_page(OralReportForm().offer(oral_units(current_unit().session, person.user)))


@bp.post("/oral/new")
def create() -> Response | tuple[str, int]:
    """Record the report; show its receipt code once, to hand over to the reporter."""
    person = signed_in()
    session = current_unit().session
    form = OralReportForm().offer(oral_units(session, person.user))
    if not form.validate_on_submit():
        return _form_page(form, 400)
    recorded = record_oral_report(
        current(), session, person.user, person.key, unit_id=form.unit.data or "",
        channel=form.channel.data or "", held_on=form.held_on.data,
        category=form.category.data or "", agency=form.agency.data or "",
        summary_text=form.summary.data or "")
    response = make_response(render_template(
        "oral_receipt.html", recorded=recorded,
        channel=CHANNEL_LABELS.get(form.channel.data or "", "")))
    # The code is on this page and nowhere else: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response


@bp.post("/cases/<case_id>/minutes")
def minutes(case_id: str) -> Response:
    """Send minutes into the reporter's dialogue, for approval or corrections."""
    form = MinutesForm(prefix="minutes")
    if not form.validate_on_submit():
        raise refusal(_l("write the minutes (at most %(max)s characters) and give the date "
                         "of the call or meeting as year-month-day; nothing was sent",
                         max=MAX_MINUTES))
    person = signed_in()
    send_minutes(current(), current_unit().session, person.user, person.key, case_id,
                 form.text.data or "", form.held_on.data)
    flash(_("The minutes were sealed and go to the reporter's dialogue at the next sync. "
            "Their answer will show here."))
    return redirect(url_for("cases.show", case_id=case_id) + "#oral")
