"""The case page's deadline section: both legal deadlines, the extension and its form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

import crypto

from .case_view import CaseView
from .deadlines import EXTENSION_REASONS, extension_of, today
from .models import CaseEnvelope, Role, Stage, User
from .models.cases import FEEDBACK_WITHIN
from .reasons import MAX_REASON, read_reason
from .services import Casework
from .timeline_text import Describe, Names, _optional_code

PREFIX = "extend"


class ExtendForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Extend the feedback deadline to six months, with a reason."""

    reason_code = SelectField(_l("Reason"), validators=[DataRequired(), Length(max=64)],
                              validate_choice=False)
    reason_text = TextAreaField(_l("Explanation"), validators=[Length(max=MAX_REASON)],
                                description=_l("Why this case needs more time. Required "
                                               "for another reason. Encrypted to the "
                                               "case's readers; never sent to the "
                                               "tipster."))


def extend_form() -> ExtendForm:
    """The extension form, its reasons filled in."""
    form = ExtendForm(prefix=PREFIX)
    form.reason_code.choices = [SelectChoice(code, str(label))
                                for code, label in EXTENSION_REASONS.items()]
    return form


@dataclass
class Deadline:
    """One deadline as the section shows it."""

    due: dt.date
    met_on: dt.date | None  # acknowledged, or feedback given
    days_left: int  # negative: overdue by that many days

    @property
    def overdue(self) -> bool:
        return self.met_on is None and self.days_left < 0

    @property
    def overdue_days(self) -> int:
        return -self.days_left


@dataclass
class DeadlineSection:
    """What ``case/_deadlines.html`` shows."""

    case_id: str
    acknowledgement: Deadline
    feedback: Deadline
    closed: bool  # concluded: no deadline runs any more
    extended: bool
    reason: str | None = None  # the extension's reason code, as words
    reason_text: str | None = None  # its explanation, if this reader's key opens it
    extended_by: str | None = None
    extended_on: dt.date | None = None
    form: ExtendForm | None = None


def _deadline(due: dt.date, met_on: dt.date | None, day: dt.date) -> Deadline:
    return Deadline(due, met_on, (due - day).days)


def build_section(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> Any:
    """The section's data for the case page (``case_sections``)."""
    case = view.case
    day = today()
    closed = case.stage == Stage.CONCLUDED.value
    section = DeadlineSection(
        case.id, _deadline(case.acknowledge_by, case.acknowledged_on, day),
        _deadline(case.feedback_by, case.feedback_on, day), closed, case.feedback_extended)
    extension = extension_of(session, case.id)
    if extension is not None:
        section.reason = str(EXTENSION_REASONS.get(extension.reason_code,
                                                   extension.reason_code))
        person = session.get(User, extension.extended_by)
        section.extended_by = person.display_name if person is not None else None
        section.extended_on = extension.extended_at.date()
        if extension.reason_envelope_id is not None:
            envelope = session.get(CaseEnvelope, extension.reason_envelope_id)
            if envelope is not None and envelope.case_id == case.id:
                section.reason_text = read_reason(casework, envelope, key)
    # The form only where the domain would accept it (it checks everything again).
    elif (case.unit_id in user.units_with(Role.UNIT_LEAD) and not closed
          and case.feedback_on is None and day <= case.received_on + FEEDBACK_WITHIN):
        section.form = extend_form()
    return section


def _extended(details: Mapping[str, Any], _names: Names) -> str:
    code = _optional_code(details, "reason_code")
    if code is None:
        return str(gettext("Feedback deadline extended to six months"))
    return str(gettext("Feedback deadline extended to six months (reason: %(reason)s)",
                       reason=str(EXTENSION_REASONS.get(code, code))))


TIMELINE: dict[str, Describe] = {"feedback_deadline_extended": _extended}
