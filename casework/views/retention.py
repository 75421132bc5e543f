"""Retention: what is due for purging, legal holds, a unit's retention period (casework.retention).

Thin: each view parses its form, calls one domain function and says what happened. A form
that does not validate is a 400 with nothing changed. Purging itself is a job
(``flask --app casework retention``), never a button.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..config import MAX_RETENTION_DAYS
from ..retention import lift_hold, overview, place_hold, set_unit_retention
from ..retention_forms import HoldForm, LiftForm, UnitRetentionForm, hold_reason_label
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("retention", __name__)


@bp.get("/retention/")
def index() -> str:
    """Administrators: every unit's due and held cases and the periods; leads: their
    units' cases."""
    person = signed_in()
    services = current()
    today = dt.datetime.now(dt.UTC).date()
    page = overview(current_unit().session, services.config, person.user, today)
    forms = {}
    if page.periods is not None:
        for period in page.periods:
            form = UnitRetentionForm(prefix=f"unit-{period.unit.id}", formdata=None)
            form.days.data = period.own
            forms[period.unit.id] = form
    return render_template("retention.html", page=page, forms=forms, today=today,
                           hold_reason_label=hold_reason_label)


@bp.post("/cases/<case_id>/hold")
def hold(case_id: str) -> Response:
    """A lead of the case's unit places a legal hold: the case is not purged until lifted."""
    form = HoldForm(prefix="hold")
    if not form.validate_on_submit():
        raise refusal(_l("choose a reason for the hold and keep the details within the "
                         "limit; nothing was changed"))
    person = signed_in()
    place_hold(current(), current_unit().session, person.user, person.key, case_id,
               form.reason_code.data or "", form.reason.data or "")
    flash(_("Legal hold placed: the case's content will not be purged until the hold is "
            "lifted."))
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/holds/<hold_id>/lift")
def lift(hold_id: str) -> Response:
    """A lead of the case's unit lifts a hold."""
    form = LiftForm(prefix="lift")
    if not form.validate_on_submit():
        raise refusal(_l("the form had no valid token; nothing was changed"))
    person = signed_in()
    case_id = lift_hold(current_unit().session, person.user, hold_id)
    flash(_("Legal hold lifted. The case is purged when its retention period is over."))
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/retention/units/<unit_id>")
def unit(unit_id: str) -> Response:
    """An administrator sets a unit's retention period (empty: the instance default)."""
    form = UnitRetentionForm(prefix=f"unit-{unit_id[:32]}")
    if not form.validate_on_submit():
        raise refusal(_l("a retention period is between 1 and %(max)s days, or empty for "
                         "the default; nothing was changed", max=MAX_RETENTION_DAYS))
    person = signed_in()
    set_unit_retention(current_unit().session, person.user, unit_id, form.days.data)
    flash(_("Retention period saved."))
    return redirect(url_for("retention.index"))
