"""Forms of the workflow section (Flask-WTF: CSRF on every one).

They check shape only (lengths, presence); which stage, reason, outcome, category,
agency or priority is allowed is the domain's to decide (``casework.workflow``,
``casework.triage``), so a forged choice gets the domain's 4xx, not a silent redirect.
The case page writes these forms by hand (one per offered move), with these names.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .reasons import MAX_REASON
from .triage import MAX_AGENCY_NAME, MAX_LABEL


class TriageForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any to mypy (pyproject)
    """Category, agency, priority, and one label to add or remove."""

    category = SelectField(_l("Category"), validate_choice=False)
    agency = SelectField(_l("Agency"), validate_choice=False)
    agency_name = StringField(_l("Name of the other agency"),
                              validators=[Length(max=MAX_AGENCY_NAME)])
    priority = SelectField(_l("Priority"), validate_choice=False)
    add_label = StringField(_l("Add a label"), validators=[Length(max=MAX_LABEL * 2)])
    remove_label = HiddenField(validators=[Length(max=MAX_LABEL * 2)])


class TransitionForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any to mypy (pyproject)
    """One move along the graph, with its reason (and outcome, on conclusion)."""

    to_stage = HiddenField(validators=[DataRequired(), Length(max=32)])
    reason_code = SelectField(_l("Reason"), validate_choice=False,
                              validators=[DataRequired()])
    outcome = SelectField(_l("Outcome"), validate_choice=False)
    # Concluding only (art. 27(2) statistics): whole kronor, parsed by the domain.
    damage_estimate_sek = StringField(_l("Estimated financial damage, kronor (optional)"),
                                      validators=[Length(max=32)])
    recovered_sek = StringField(_l("Amount recovered, kronor (optional)"),
                                validators=[Length(max=32)])
    reason = TextAreaField(_l("Reason in your own words (optional)"),
                           validators=[Length(max=MAX_REASON)])


class LinkForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any to mypy (pyproject)
    """Link this case to another, named by its reference."""

    other = StringField(_l("Case reference"), validators=[DataRequired(), Length(max=40)])
    kind = SelectField(_l("Kind of link"), validate_choice=False,
                       validators=[DataRequired()])
