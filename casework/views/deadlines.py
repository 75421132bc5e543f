"""Deadlines: extend the feedback deadline to six months with a reason (casework.deadlines).

Thin: each view parses its form, calls one domain function and says what happened.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..deadline_forms import PREFIX, ExtendForm
from ..deadlines import extend_feedback_deadline
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("deadlines", __name__)


@bp.post("/cases/<case_id>/deadline/extend", endpoint="extend")
def extend(case_id: str) -> Response:
    """A lead of the case's unit extends its feedback deadline (readers reach the domain,
    which refuses anyone but a lead with a 403)."""
    form = ExtendForm(prefix=PREFIX)
    if not form.validate_on_submit():
        raise refusal(_l("the form was incomplete or too long; nothing was changed"))
    person = signed_in()
    new_deadline = extend_feedback_deadline(
        current(), current_unit().session, person.user, person.key, case_id,
        form.reason_code.data or "", form.reason_text.data or "")
    flash(_("The feedback deadline was extended to %(date)s.", date=format_date(new_deadline)))
    return redirect(url_for("cases.show", case_id=case_id, _anchor="deadlines"))
