"""Intake forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .categories import CATEGORIES

MAX_TEXT = 20_000
MAX_LINE = 300
OTHER_AGENCY = "__other__"


class CheckboxList(SelectMultipleField):
    """A list of checkboxes (works without JavaScript, unlike a multi-select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReportForm(FlaskForm):
    """The report form at /submit."""

    category = RadioField(_l("What is the report about?"),
                          choices=[SelectChoice(key, label) for key, label in CATEGORIES.items()],
                          validators=[InputRequired(_l("Choose what the report is about."))])
    agency = SelectField(_l("Which agency is concerned?"),
                         validators=[InputRequired(_l("Choose the agency concerned."))])
    # No Optional() on fields with a conditional rule: it would stop the chain before
    # the validate_<field> method below runs.
    agency_other = StringField(_l("If another agency: its name"),
                               validators=[Length(max=MAX_LINE)])
    what = TextAreaField(_l("What happened?"),
                         validators=[DataRequired(_l("Describe what happened.")),
                                     Length(max=MAX_TEXT)])
    when = StringField(_l("When did it happen?"), validators=[Optional(), Length(max=MAX_LINE)])
    who = TextAreaField(_l("Who is involved?"), validators=[Optional(), Length(max=MAX_TEXT)])
    files = MultipleFileField(_l("Files (optional)"))
    excluded = CheckboxList(_l("Persons who must not see this report (optional)"),
                            validators=[Optional()])
    identity = RadioField(
        _l("Anonymous or confidential?"),
        choices=[SelectChoice("anonymous", _l("Anonymous: nobody learns who I am")),
                 SelectChoice("confidential", _l("Confidential: I give my name, kept sealed"))],
        default="anonymous", validators=[InputRequired()])
    name = StringField(_l("Your name"), validators=[Length(max=MAX_LINE)])
    contact = StringField(_l("How we can reach you"), validators=[Length(max=MAX_LINE)])

    def validate_agency_other(self, field: StringField) -> None:
        """Naming the agency is required when "other" is chosen."""
        if self.agency.data == OTHER_AGENCY and not (field.data or "").strip():
            raise ValidationError(_l("Write the name of the agency."))

    def validate_name(self, field: StringField) -> None:
        """A confidential report needs a name."""
        if self.identity.data == "confidential" and not (field.data or "").strip():
            raise ValidationError(_l("A confidential report needs your name."))

    def validate_contact(self, field: StringField) -> None:
        """A confidential report needs a way to reach the reporter."""
        if self.identity.data == "confidential" and not (field.data or "").strip():
            raise ValidationError(_l("A confidential report needs a way to reach you."))


class LoginForm(FlaskForm):
    """Signing in with a receipt code."""

    receipt = StringField(_l("Receipt code"),
                          validators=[DataRequired(_l("Type your receipt code.")),
                                      Length(max=100)])


class MessageForm(FlaskForm):
    """A follow-up message with optional files."""

    text = TextAreaField(_l("Your message"),
                         validators=[DataRequired(_l("Write a message.")),
                                     Length(max=MAX_TEXT)])
    files = MultipleFileField(_l("Files (optional)"))


class SignOutForm(FlaskForm):
    """Sign out (a form so that it carries a CSRF token)."""


# Which minutes an answer is about: an envelope id (32 lower-case hex), nothing else.
_MINUTES_ID = [DataRequired(), Regexp(r"^[0-9a-f]{32}\Z")]


class MinutesApprovalForm(FlaskForm):
    """The reporter approves the minutes of an oral report as they are."""

    minutes = HiddenField(validators=_MINUTES_ID)


class MinutesCorrectionForm(FlaskForm):
    """The reporter sends corrections to the minutes of an oral report."""

    minutes = HiddenField(validators=_MINUTES_ID)
    corrections = TextAreaField(_l("What should be changed in the minutes?"),
                                validators=[DataRequired(_l("Write your corrections.")),
                                            Length(max=MAX_TEXT)])
