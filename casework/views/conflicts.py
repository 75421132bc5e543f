"""Conflicts of interest: declare one, rekey a case, the unit lead's list of flagged cases.

Thin: each view parses its form, calls one domain function (``casework.conflicts``) and
says what happened. A form that does not validate is a 400 with nothing changed.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..conflict_flags import flagged_cases
from ..conflict_forms import DeclareConflictForm, RekeyForm
from ..conflicts import declare_conflict, rekey_case
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("conflicts", __name__)


@bp.post("/conflicts/<case_id>/declare")
def declare(case_id: str) -> Response:
    """A reader declares a conflict of interest: refused from now on, rekey pending."""
    form = DeclareConflictForm(prefix="conflict")
    if not form.validate_on_submit():
        raise refusal(_l("tick the box to confirm, and keep the reason within the limit; "
                         "nothing was changed"))
    person = signed_in()
    declare_conflict(current(), current_unit().session, person.user, person.key, case_id,
                     form.reason.data or "")
    flash(_("You declared a conflict of interest. You can no longer open this case; it "
            "will be re-encrypted without your key by the next reader who opens it."))
    return redirect(url_for("cases.index"))


@bp.post("/conflicts/<case_id>/rekey")
def rekey(case_id: str) -> Response:
    """Rekey the case now (otherwise it happens when the next reader opens it)."""
    form = RekeyForm(prefix="rekey")
    if not form.validate_on_submit():
        raise refusal(_l("the form had no valid token; nothing was changed"))
    person = signed_in()
    done = rekey_case(current(), current_unit().session, person.user, person.key, case_id)
    if done is None:
        flash(_("Nothing to rekey: the case was already re-encrypted."))
    else:
        flash(_("Rekeyed: %(count)s encrypted items re-encrypted without the key of the "
                "person who declared the conflict.", count=done.envelopes))
    return redirect(url_for("cases.show", case_id=case_id))


@bp.get("/conflicts/")
def index() -> str:
    """The cases of the lead's units with a declared conflict: to reassign."""
    person = signed_in()
    rows = flagged_cases(current_unit().session, person.user)
    return render_template("conflicts.html", rows=rows)
