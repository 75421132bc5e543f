"""The report form and the receipt page."""

from __future__ import annotations

from flask import Blueprint, render_template, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from ..errors import EveryoneExcluded
from ..forms import OTHER_AGENCY, ReportForm
from ..reporting import ReportInput, route_report, submit_report
from ..services import current
from .helpers import collect_uploads, spool_key, work_session

bp = Blueprint("report", __name__)


def _report_form() -> ReportForm:
    intake = current()
    form = ReportForm()
    form.agency.choices = [SelectChoice("", _l("Choose an agency")),
                           *[SelectChoice(a, a) for a in intake.config.agencies],
                           SelectChoice(OTHER_AGENCY, _l("Another agency"))]
    form.excluded.choices = [SelectChoice(p.key_id, p.name)
                             for p in intake.directory.all_reviewers()]
    return form


@bp.route("/submit", methods=["GET", "POST"])
def submit() -> tuple[str, int] | str:
    """Show the form; on a valid post, seal the report and show the receipt once."""
    intake = current()
    form = _report_form()
    valid = form.validate_on_submit()
    if valid:
        try:
            # Checked before anything is sealed, and shown on the form itself: leaving
            # out everyone who could read the report is a choice to correct, not a fault.
            route_report(intake, form.category.data or "other", list(form.excluded.data or []))
        except EveryoneExcluded as exc:
            form.excluded.errors = [*form.excluded.errors, exc.explanation]
            valid = False
    if not valid:
        status = 400 if form.is_submitted() else 200
        return render_template("submit.html", form=form,
                               max_file_mb=intake.config.max_file_bytes // (1024 * 1024),
                               max_files=intake.config.max_files), status
    agency = form.agency_other.data if form.agency.data == OTHER_AGENCY else form.agency.data
    receipt = submit_report(
        intake,
        work_session(),
        ReportInput(
            category=form.category.data or "other",
            agency=(agency or "").strip(),
            what=form.what.data or "",
            when=form.when.data or "",
            who=form.who.data or "",
            excluded=list(form.excluded.data or []),
            confidential=form.identity.data == "confidential",
            name=(form.name.data or "").strip(),
            contact=(form.contact.data or "").strip(),
            locale=str(get_locale()),
        ),
        collect_uploads("files"),
        spool_key(),
    )
    # A fresh CSRF token for the next form: reloading the receipt page would otherwise
    # re-post the same form and send the report twice.
    session.pop("csrf_token", None)
    return render_template("receipt.html", receipt=receipt)
