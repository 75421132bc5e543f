"""Routes of the workflow section: triage, stage changes, links, merging.

Thin: each parses its form, calls one domain function (which checks access, role and
state again, whatever the page offered), says what happened and goes back to the case.
A form that does not parse is a 400 and changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..case_view import refusal
from ..forms import ActionForm
from ..services import current, current_unit
from ..triage import TriageChoice, link, merge, triage, unlink
from ..web import signed_in
from ..workflow import change_stage
from ..workflow_forms import LinkForm, TransitionForm, TriageForm

bp = Blueprint("workflow", __name__, url_prefix="/cases")


def _back(case_id: str) -> Response:
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/<case_id>/triage", endpoint="triage")
def triage_view(case_id: str) -> Response:
    """Set category, agency, priority; add or remove a label."""
    form = TriageForm()
    if not form.validate_on_submit():
        raise refusal(_l("The triage form was not complete or too long; nothing changed."))
    person = signed_in()
    changed = triage(current(), current_unit().session, person.user, person.key, case_id,
                     TriageChoice(category=form.category.data or None,
                                  agency=form.agency.data or None,
                                  agency_name=form.agency_name.data or "",
                                  priority=form.priority.data or None,
                                  add_label=form.add_label.data or "",
                                  remove_label=form.remove_label.data or ""))
    flash(_("Triage saved.") if changed else _("Nothing was changed."))
    return _back(case_id)


@bp.post("/<case_id>/stage", endpoint="transition")
def transition_view(case_id: str) -> Response:
    """Move the case along the workflow graph; the tipster is told."""
    form = TransitionForm()
    if not form.validate_on_submit():
        raise refusal(_l("Choose a reason; a reason text has at most 4,000 characters. "
                         "Nothing changed."))
    person = signed_in()
    change_stage(current(), current_unit().session, person.user, person.key, case_id,
                 form.to_stage.data or "", form.reason_code.data or "",
                 form.reason.data or "", form.outcome.data or None,
                 damage_estimate_sek=form.damage_estimate_sek.data,
                 recovered_sek=form.recovered_sek.data)
    flash(_("Stage changed. The tipster is told at the next sync."))
    return _back(case_id)


@bp.post("/<case_id>/links", endpoint="link")
def link_view(case_id: str) -> Response:
    """Link this case to another one the person may read."""
    form = LinkForm()
    if not form.validate_on_submit():
        raise refusal(_l("Give the other case's reference and the kind of link."))
    person = signed_in()
    link(current_unit().session, person.user, person.key, case_id, form.other.data or "",
         form.kind.data or "")
    flash(_("The cases are linked."))
    return _back(case_id)


@bp.post("/<case_id>/links/<other_case_id>/remove", endpoint="unlink")
def unlink_view(case_id: str, other_case_id: str) -> Response:
    """Remove a link (both directions)."""
    if not ActionForm().validate_on_submit():
        raise refusal(_l("The form had expired; nothing changed."))
    person = signed_in()
    unlink(current_unit().session, person.user, person.key, case_id, other_case_id)
    flash(_("The link was removed."))
    return _back(case_id)


@bp.post("/<case_id>/merge", endpoint="merge")
def merge_view(case_id: str) -> Response:
    """Merge this duplicate into its primary case (a unit lead)."""
    if not ActionForm().validate_on_submit():
        raise refusal(_l("The form had expired; nothing changed."))
    person = signed_in()
    primary = merge(current_unit().session, person.user, person.key, case_id)
    flash(_("Merged: the primary case shows this case's dialogue."))
    return _back(primary)
