"""The case page's retention section (when the content will be purged, the legal holds and
their reasons, the hold form for a lead of the case's unit), the forms of the retention
pages, and the timeline's words for holds and purges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

import crypto

from .case_view import CaseView
from .config import MAX_RETENTION_DAYS
from .models import CaseEnvelope, HoldReasonCode, LegalHold, Role, User
from .reasons import MAX_REASON, read_reason
from .retention import active_holds, purge_date
from .services import Casework
from .timeline_text import Describe, Names, _, _code, _count

HOLD_REASON_LABELS: dict[str, LazyString] = {
    HoldReasonCode.LEGAL_PROCEEDINGS: _l("legal proceedings"),
    HoldReasonCode.ONGOING_INVESTIGATION: _l("an investigation still going on elsewhere"),
    HoldReasonCode.ARCHIVING_DECISION: _l("a decision to archive the case"),
    HoldReasonCode.OTHER: _l("another reason"),
}


def hold_reason_label(code: str) -> str:
    """The label of a hold's reason code in the current language (the code if unknown)."""
    return str(HOLD_REASON_LABELS.get(code, code))


class HoldForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """A lead of the case's unit places a legal hold."""

    reason_code = SelectField(_l("Reason for the hold"), validators=[DataRequired()],
                              choices=[SelectChoice(code, label)
                                       for code, label in HOLD_REASON_LABELS.items()])
    reason = TextAreaField(
        _l("Details (optional)"), validators=[Length(max=MAX_REASON)],
        description=_l("Sealed to the case's readers. Leave it empty if you do not read "
                       "the case."))


class LiftForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """The "lift the hold" button (carries the CSRF token)."""


class UnitRetentionForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """An administrator sets a unit's retention period (empty: the instance default)."""

    days = IntegerField(
        _l("Days after a case concludes"),
        validators=[Optional(), NumberRange(min=1, max=MAX_RETENTION_DAYS)],
        description=_l("Between 1 and %(max)s; empty for the instance's default.",
                       max=MAX_RETENTION_DAYS))


@dataclass(frozen=True)
class HoldRow:
    """A hold on the case page: its code, who placed it and when, and (for someone it was
    sealed to) the reason in words."""

    id: str
    reason_code: str
    reason_label: str
    placed_by: str
    placed_at: dt.datetime
    reason: str | None
    reason_unreadable: bool


@dataclass(frozen=True)
class RetentionSection:
    """What the case page's retention section shows."""

    purge_on: dt.date | None  # None while the case is open
    holds: list[HoldRow]
    hold_form: HoldForm | None  # a lead of the case's unit only
    lift_form: LiftForm | None


def _hold_rows(casework: Casework, session: Session, key: crypto.PrivateKey | None,
               holds: list[LegalHold]) -> list[HoldRow]:
    rows = []
    for hold in holds:
        placed_by = session.get(User, hold.placed_by)
        reason: str | None = None
        unreadable = False
        if hold.reason_envelope_id is not None:
            envelope = session.scalar(select(CaseEnvelope).where(
                CaseEnvelope.id == hold.reason_envelope_id,
                CaseEnvelope.case_id == hold.case_id))
            # A pointer to anything but this case's reason shows nothing of it.
            reason = read_reason(casework, envelope, key) if envelope is not None else None
            unreadable = reason is None and key is not None and envelope is not None \
                and key.public_key.key_id in crypto.header_key_ids(envelope.header)
        rows.append(HoldRow(hold.id, hold.reason_code, hold_reason_label(hold.reason_code),
                            placed_by.display_name if placed_by is not None else "?",
                            hold.placed_at, reason, unreadable))
    return rows


def build_section(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> RetentionSection:
    """For ``case_sections``: the reader passed the access check already."""
    case = view.case
    lead = case.unit_id in user.units_with(Role.UNIT_LEAD)
    return RetentionSection(
        purge_date(session, casework.config, case),
        _hold_rows(casework, session, key, active_holds(session, case.id)),
        HoldForm(prefix="hold") if lead else None,
        LiftForm(prefix="lift") if lead else None)


# --- the timeline's words -----------------------------------------------------------------


def _placed(details: Mapping[str, Any], _names: Names) -> str:
    _code(details, "hold_id")
    return _("A legal hold paused the purge (reason: %(reason)s)",
             reason=hold_reason_label(_code(details, "reason_code")))


def _lifted(details: Mapping[str, Any], _names: Names) -> str:
    _code(details, "hold_id")
    return _("A legal hold was lifted")


def _purged(details: Mapping[str, Any], _names: Names) -> str:
    return _("The case's content was purged (encrypted items removed: %(count)s)",
             count=_count(details, "envelopes"))


TIMELINE: dict[str, Describe] = {"legal_hold_placed": _placed, "legal_hold_lifted": _lifted,
                                 "case_purged": _purged}
