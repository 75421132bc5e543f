"""Forms of the handling section (assign back, transfer, escalate, refer) and the handover
page, and the case-page section builder that fills them.

The forms offer only what the domain accepts (never a person the tipster excluded, never
the case's own unit or one it already went to); the domain functions check it all
again, so a forged post is refused there. Select fields do not check their choices
themselves for that reason: the refusal then names the rule, not "not a valid choice".
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

import crypto

from .assignment import assignable, assignees, excluded_key_ids
from .case_view import CaseView
from .config import ReferralAuthority
from .escalation import REASONS, escalation_choices, escalations, may_handle
from .i18n import reason_label, unit_label
from .models import Escalation, Unit, User
from .reasons import MAX_REASON
from .services import Casework

KIND_LABELS: dict[str, LazyString] = {
    "unit": _l("escalated to"),
    "kof": _l("escalated to"),
    "referral": _l("referred to"),
}
# Ids are 32 hex digits; anything longer is not one.
ID = [DataRequired(), Length(max=64)]


def _reason_choices() -> list[SelectChoice]:
    return [SelectChoice(code.value, reason_label(code)) for code in REASONS]


def authority_name(authority: ReferralAuthority) -> str:
    """The authority's name in the page's language."""
    locale = get_locale()
    return authority.name_en if locale is not None and locale.language == "en" \
        else authority.name_sv


class UnassignForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Take the case back from one person (a button per assignee)."""

    person = HiddenField(validators=ID)


class TransferForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Move the case from one assignee to another person."""

    giver = SelectField(_l("From"), validators=ID, validate_choice=False)
    receiver = SelectField(_l("To"), validators=ID, validate_choice=False,
                           description=_l("Only people who may read this case are listed."))


class EscalateForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Send the case to another unit or to KOF."""

    unit = SelectField(_l("Escalate to"), validators=ID, validate_choice=False,
                       description=_l("The unit's reviewers and lead will read the case "
                                      "from now on (except anyone the tipster left out). "
                                      "The tipster is not told."))
    reason_code = SelectField(_l("Reason"), validators=ID, validate_choice=False)
    reason_text = TextAreaField(_l("Explanation (optional)"),
                                validators=[Length(max=MAX_REASON)],
                                description=_l("Encrypted to the case's readers, including "
                                               "the new ones. Never sent to the tipster."))


class ReferForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Record a referral to an external authority."""

    authority = SelectField(_l("Refer to"), validators=ID, validate_choice=False,
                            description=_l("Records the authority and today's date. The "
                                           "tipster is told, in plain words, which "
                                           "authority the case was referred to; nothing "
                                           "else of the case is sent anywhere."))
    reason_code = SelectField(_l("Reason"), validators=ID, validate_choice=False)
    reason_text = TextAreaField(_l("Explanation (optional)"),
                                validators=[Length(max=MAX_REASON)],
                                description=_l("Encrypted to the case's readers. Never sent "
                                               "to the tipster."))


class HandoverForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Hand all of one person's cases over to another."""

    giver = SelectField(_l("Hand over the cases of"), validators=ID, validate_choice=False)
    receiver = SelectField(_l("To"), validators=ID, validate_choice=False,
                           description=_l("Cases whose tipster left this person out, or "
                                          "of a unit they do not read, stay where they are "
                                          "and are listed after the handover."))


def handover_forms(givers: list[User], receivers: list[User]) -> HandoverForm:
    """The handover form with its people filled in."""
    form = HandoverForm()
    form.giver.choices = [SelectChoice(p.id, p.display_name) for p in givers]
    form.receiver.choices = [SelectChoice(p.id, p.display_name) for p in receivers]
    return form


@dataclass
class HistoryLine:
    """One escalation or referral, as the section lists it."""

    kind: str
    what: str
    destination: str
    reason: str
    at: str
    by: str


@dataclass
class HandlingSection:
    """What ``case/_handling.html`` shows: who has the case, where it went, and (for a
    lead of its unit) the forms."""

    case_id: str
    assignees: list[User]
    history: list[HistoryLine]
    lead: bool = False
    unassign: UnassignForm | None = None
    transfer: TransferForm | None = None
    escalate: EscalateForm | None = None
    refer: ReferForm | None = None


def _history(session: Session, casework: Casework, rows: list[Escalation]) -> list[HistoryLine]:
    lines = []
    for row in rows:
        if row.kind == "referral":
            found = casework.config.referral_authority(row.destination)
            destination = authority_name(found) if found is not None else row.destination
        else:
            destination = unit_label(session.get(Unit, row.destination), row.destination)
        actor = session.get(User, row.actor_id) if row.actor_id else None
        lines.append(HistoryLine(
            row.kind, str(KIND_LABELS.get(row.kind, row.kind)), destination,
            reason_label(row.reason_code),
            row.at.isoformat(sep=" ", timespec="minutes"),
            actor.display_name if actor is not None else "?"))
    return lines


def build_section(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> HandlingSection:
    """The handling section of the case page (``case_sections``)."""
    case = view.case
    people = assignees(session, case)
    section = HandlingSection(case.id, people, _history(session, casework,
                                                        escalations(session, case)))
    if not may_handle(user, case):
        return section
    section.lead = True
    section.unassign = UnassignForm(prefix="unassign")
    candidates = assignable(session, case, excluded_key_ids(view.report))
    if people:
        section.transfer = TransferForm(prefix="transfer")
        section.transfer.giver.choices = [SelectChoice(p.id, p.display_name) for p in people]
        section.transfer.receiver.choices = [SelectChoice(p.id, p.display_name)
                                             for p in candidates]
    choices = escalation_choices(session, casework.config.referral_authorities, case)
    if choices.units:
        section.escalate = EscalateForm(prefix="escalate")
        section.escalate.unit.choices = [SelectChoice(u.id, unit_label(u, u.id))
                                         for u in choices.units]
        section.escalate.reason_code.choices = _reason_choices()
    if choices.authorities:
        section.refer = ReferForm(prefix="refer")
        section.refer.authority.choices = [SelectChoice(a.code, authority_name(a))
                                           for a in choices.authorities]
        section.refer.reason_code.choices = _reason_choices()
    return section
