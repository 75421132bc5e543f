"""Oral reports on the page: the form that records one, the minutes form, the case page's
oral section (the minutes sent, their status, the reporter's answers, opened for readers)
and the timeline's words for the oral actions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

import crypto
from common.contract import EnvelopeKind
from common.vocabulary import AGENCIES, agency_label

from .case_view import MAX_SHOWN_BYTES, CaseView
from .i18n import CATEGORY_LABELS, unit_label
from .models import CaseEnvelope, MinutesStatus, OralChannel, Unit, User
from .oral import ANSWER_KINDS, MAX_MINUTES, MAX_SUMMARY, oral_report
from .sealing import open_document
from .services import Casework
from .timeline_text import Describe, Malformed, Names

CHANNEL_LABELS: dict[str, LazyString] = {
    OralChannel.PHONE: _l("By phone"),
    OralChannel.MEETING: _l("In a meeting"),
    OralChannel.VOICE_MESSAGE: _l("As a voice message"),
}
STATUS_LABELS: dict[str, LazyString] = {
    MinutesStatus.AWAITING: _l("Waiting for the reporter's answer"),
    MinutesStatus.APPROVED: _l("Approved by the reporter"),
    MinutesStatus.CORRECTED: _l("The reporter sent corrections"),
}
_DATE_MESSAGE = _l("Give the date as year-month-day, e.g. 2026-03-14.")


class OralReportForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """A reader writes down a report given by phone or in a meeting."""

    unit = SelectField(_l("Unit that handles the report"),
                       validators=[DataRequired(_l("Choose a unit."))])
    channel = SelectField(_l("How was the report given?"),
                          choices=[SelectChoice(c.value, CHANNEL_LABELS[c]) for c in OralChannel],
                          validators=[InputRequired(_l("Choose how the report was given."))])
    held_on = DateField(_l("Date of the call or meeting"),
                        validators=[InputRequired(_DATE_MESSAGE)],
                        description=_DATE_MESSAGE)
    category = SelectField(_l("What is the report about?"),
                           choices=[SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()],
                           validators=[InputRequired(_l("Choose what the report is about."))])
    agency = SelectField(_l("Agency concerned (optional)"), validators=[Optional()])
    summary = TextAreaField(
        _l("The report, as you wrote it down"),
        validators=[DataRequired(_l("Write down the report.")), Length(max=MAX_SUMMARY)],
        description=_l("What happened, when, and who is involved, in the reporter's words as "
                       "far as you can. Sealed at once to the unit's readers; it is not sent "
                       "to the reporter (the minutes are)."))

    def offer(self, units: list[Unit]) -> OralReportForm:
        """Fill the choices that depend on who is signed in and the language."""
        self.unit.choices = [SelectChoice(u.id, unit_label(u, u.id)) for u in units]
        self.agency.choices = [SelectChoice("", "\N{EN DASH}")] + [
            SelectChoice(code, agency_label(code, _language())) for code in AGENCIES]
        return self


class MinutesForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Minutes of the call or meeting, for the reporter to approve or correct."""

    held_on = DateField(_l("Date of the call or meeting"),
                        validators=[InputRequired(_DATE_MESSAGE)], description=_DATE_MESSAGE)
    text = TextAreaField(
        _l("Minutes"),
        validators=[DataRequired(_l("Write the minutes.")), Length(max=MAX_MINUTES)],
        description=_l("Sealed to the reporter's receipt and the case's readers, and sent as "
                       "plain text (any markup is removed). The reporter reads them at "
                       "intake and approves them or sends corrections."))


def _language() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "sv"


@dataclass
class OralSection:
    """The case page's oral section: how it was given, the minutes and their answers."""

    channel: str
    recorded_by: str
    recorded_at: dt.datetime
    status: str
    status_label: str
    answered_at: dt.datetime | None
    minutes: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0
    form: MinutesForm | None = None


def _open(casework: Casework, envelope: CaseEnvelope,
          key: crypto.PrivateKey) -> dict[str, Any] | None:
    """One small item's JSON, or None (not sealed to ``key``, too large, damaged)."""
    return open_document(casework, envelope, key, MAX_SHOWN_BYTES)


def build_section(casework: Casework, session: Session, _user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> OralSection | None:
    """For ``case_sections``: None unless the case was recorded as an oral report."""
    row = oral_report(session, view.case.id)
    if row is None:
        return None
    recorder = session.get(User, row.recorded_by)
    section = OralSection(
        channel=str(CHANNEL_LABELS.get(row.channel, row.channel)),
        recorded_by=recorder.display_name if recorder else "?",
        recorded_at=row.recorded_at, status=row.minutes_status,
        status_label=str(STATUS_LABELS.get(row.minutes_status, row.minutes_status)),
        answered_at=row.answered_at, form=MinutesForm(prefix="minutes"))
    if key is None:
        return section
    for envelope in view.case.envelopes:
        if envelope.kind == EnvelopeKind.MINUTES and envelope.origin == "casework":
            _add_minutes(casework, section, envelope, key, row.minutes_envelope_id)
        elif envelope.kind in ANSWER_KINDS and envelope.origin == "intake":
            _add_answer(casework, section, envelope, key)
    section.minutes.sort(key=lambda m: str(m["sent_at"]))
    section.answers.sort(key=lambda a: str(a["sent_at"]))
    return section


def _add_minutes(casework: Casework, section: OralSection, envelope: CaseEnvelope,
                 key: crypto.PrivateKey, newest: str | None) -> None:
    payload = _open(casework, envelope, key)
    if payload is None or payload.get("type") != "minutes":
        section.unreadable += 1
        return
    section.minutes.append({
        "envelope_id": envelope.id, "text": str(payload.get("text", "")),
        "held_on": str(payload.get("held_on", ""))[:10],
        "sent_at": str(payload.get("sent_at", "")), "newest": envelope.id == newest,
        "delivered": envelope.delivered})


def _add_answer(casework: Casework, section: OralSection, envelope: CaseEnvelope,
                key: crypto.PrivateKey) -> None:
    # What the answer is comes from its kind (checked at import), never from the payload:
    # the payload only adds the reporter's words and which minutes they answered.
    payload = _open(casework, envelope, key) or {}
    corrections = payload.get("corrections")
    section.answers.append({
        "envelope_id": envelope.id, "approved": ANSWER_KINDS[envelope.kind]
        == MinutesStatus.APPROVED, "corrections": corrections
        if isinstance(corrections, str) else "", "readable": bool(payload),
        "minutes_envelope_id": str(payload.get("minutes_envelope_id", "")),
        "sent_at": str(payload.get("sent_at", "")) or envelope.created_at.isoformat()})


# --- the timeline's words ------------------------------------------------------------------

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


def _(text: str, **variables: object) -> str:
    return str(gettext(text, **variables))


def _code(details: Mapping[str, Any], name: str) -> str:
    value = details.get(name)
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise Malformed()
    return value


def _recorded(details: Mapping[str, Any], _names: Names) -> str:
    channel = _code(details, "channel")
    return _("Oral report recorded (%(channel)s); a receipt was handed to the reporter",
             channel=str(CHANNEL_LABELS.get(channel, channel)).lower())


def _minutes_sent(details: Mapping[str, Any], _names: Names) -> str:
    _code(details, "envelope_id")
    return _("Minutes sent to the reporter for approval")


def _minutes_answered(details: Mapping[str, Any], _names: Names) -> str:
    _code(details, "envelope_id")
    status = _code(details, "status")
    if status == MinutesStatus.APPROVED:
        return _("The reporter approved the minutes")
    if status == MinutesStatus.CORRECTED:
        return _("The reporter sent corrections to the minutes")
    raise Malformed()


TIMELINE: dict[str, Describe] = {
    "oral_report_recorded": _recorded, "minutes_sent": _minutes_sent,
    "minutes_answered": _minutes_answered,
}
