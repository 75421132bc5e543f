"""The identity section of the case page, the forms of the identity requests, and how the
case timeline words their actions (never naming the reporter: only codes are logged)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

import crypto

from .case_view import CaseView
from .identity import APPROVE_CODES, MAX_TEXT, REFUSE_CODES, REQUEST_CODES
from .identity_queue import RequestRow, custodians_exist, has_identity, own_requests
from .models import IdentityReasonCode, IdentityRequestStatus, ReporterNotice, User
from .services import Casework
from .timeline_text import Describe, Malformed, Names, _, _code

REASON_LABELS: dict[str, LazyString] = {
    IdentityReasonCode.INVESTIGATION_NEEDS: _l("The investigation cannot go on without it"),
    IdentityReasonCode.PROTECTION: _l("To protect the reporter against retaliation"),
    IdentityReasonCode.LEGAL_PROCEEDINGS: _l("Required in judicial proceedings"),
    IdentityReasonCode.NOT_NECESSARY: _l("Refused: the investigation can go on without it"),
    IdentityReasonCode.INSUFFICIENT_REASON: _l("Refused: the reason given does not carry it"),
    IdentityReasonCode.OTHER: _l("Other (explained in words)"),
}
STATUS_LABELS: dict[str, LazyString] = {
    IdentityRequestStatus.PENDING: _l("Waiting for a custodian"),
    IdentityRequestStatus.APPROVED: _l("Approved"),
    IdentityRequestStatus.REFUSED: _l("Refused"),
    IdentityRequestStatus.WITHDRAWN: _l("Withdrawn"),
}
NOTICE_LABELS: dict[str, LazyString] = {
    ReporterNotice.TOLD: _l("The reporter is told first, in their dialogue"),
    ReporterNotice.WITHHELD: _l("The reporter is not told: telling them would jeopardise "
                                "the investigation (the reason is recorded)"),
}


def reason_label(code: str | None) -> str:
    """The words of an identity reason code (the code itself if unknown)."""
    return str(REASON_LABELS.get(code or "", code or ""))


def _choices(codes: tuple[IdentityReasonCode, ...]) -> list[SelectChoice]:
    return [SelectChoice(c.value, REASON_LABELS[c]) for c in codes]


class RequestIdentityForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """A reader asks for the reporter's identity, with a reason."""

    reason_code = SelectField(_l("Why do you need the reporter's identity?"),
                              validators=[DataRequired(), Length(max=32)],
                              validate_choice=False)
    reason_text = TextAreaField(
        _l("Explain the need"), validators=[DataRequired(), Length(max=MAX_TEXT)],
        description=_l("Encrypted to the custodians and to you; the case's other readers "
                       "do not see it. A custodian who does not read this case decides."))


class WithdrawForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """The "withdraw" button of a pending request (carries the CSRF token)."""


class DecideForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """A custodian approves or refuses one request (one form per request: its prefix)."""

    decision = RadioField(_l("Decision"), validators=[DataRequired()], validate_choice=False,
                          choices=[SelectChoice("approve", _l("Approve")),
                                   SelectChoice("refuse", _l("Refuse"))])
    decision_code = SelectField(_l("Reason for the decision"),
                                validators=[DataRequired(), Length(max=32)],
                                validate_choice=False)
    decision_text = TextAreaField(
        _l("Explain the decision"), validators=[DataRequired(), Length(max=MAX_TEXT)],
        description=_l("Encrypted to the custodians and the requester."))
    notice = RadioField(_l("Telling the reporter (when approving)"), validate_choice=False,
                        choices=[SelectChoice(n.value, NOTICE_LABELS[n])
                                 for n in ReporterNotice])
    notice_text = TextAreaField(
        _l("Notice to the reporter, or why they are not told"),
        validators=[Length(max=MAX_TEXT)],
        description=_l("When the reporter is told: the message they read in their dialogue "
                       "before the identity is disclosed, with the reasons; name the "
                       "function that will know their identity, never a person. When they "
                       "are not told: why telling them would jeopardise the investigation "
                       "(encrypted to the custodians and the requester)."))


def request_form() -> RequestIdentityForm:
    form = RequestIdentityForm(prefix="identity")
    form.reason_code.choices = _choices(REQUEST_CODES)
    return form


def decide_form(request_id: str) -> DecideForm:
    # A prefix per request keeps each form's field ids apart on the queue page.
    form = DecideForm(prefix=f"r{request_id}")
    form.decision_code.choices = [*_choices(APPROVE_CODES),
                                  *_choices(tuple(c for c in REFUSE_CODES
                                                  if c not in APPROVE_CODES))]
    return form


@dataclass(frozen=True)
class IdentitySection:
    """The case page's identity section, for a reader of a confidential report."""

    requests: list[RequestRow]
    form: RequestIdentityForm | None  # None while one of theirs waits
    withdraw_form: WithdrawForm
    custodians: bool

    def reason(self, code: str | None) -> str:
        """The words of a reason code, for the template."""
        return reason_label(code)

    def status(self, code: str) -> str:
        """The words of a request's status, for the template."""
        return str(STATUS_LABELS.get(code, code))


def build_section(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, view: CaseView) -> IdentitySection | None:
    """For ``case_sections``: nothing for an anonymous report; else the person's own
    requests and, unless one waits, the form to ask (the domain checks again)."""
    if not has_identity(view.case):
        return None
    rows = own_requests(casework, session, user, key, view.case)
    waiting = any(r.status == IdentityRequestStatus.PENDING.value for r in rows)
    return IdentitySection(rows, None if waiting else request_form(),
                           WithdrawForm(prefix="withdraw"), custodians_exist(session))


# --- the timeline's words --------------------------------------------------------------


def _fields(details: Mapping[str, Any], *names: str) -> list[str]:
    # Strict, as every describer: exactly the fields the event writes.
    if set(details) != set(names):
        raise Malformed()
    return [_code(details, n) for n in names]


def _requested(details: Mapping[str, Any], _names: Names) -> str:
    _request, code = _fields(details, "request_id", "reason_code")
    return _("Asked to read the reporter's identity (reason: %(reason)s)",
             reason=reason_label(code))


def _withdrawn(details: Mapping[str, Any], _names: Names) -> str:
    _fields(details, "request_id")
    return _("Withdrew a request to read the reporter's identity")


def _approved(details: Mapping[str, Any], names: Names) -> str:
    _request, requester, code, notice = _fields(details, "request_id", "requester_id",
                                                "decision_code", "notice")
    if notice == ReporterNotice.TOLD.value:
        return _("Approved %(person)s's request to read the reporter's identity (reason: "
                 "%(reason)s); the reporter is told first", person=names.person(requester),
                 reason=reason_label(code))
    if notice != ReporterNotice.WITHHELD.value:
        raise Malformed()
    return _("Approved %(person)s's request to read the reporter's identity (reason: "
             "%(reason)s); the reporter is not told, for a recorded reason",
             person=names.person(requester), reason=reason_label(code))


def _refused(details: Mapping[str, Any], names: Names) -> str:
    _request, requester, code = _fields(details, "request_id", "requester_id",
                                        "decision_code")
    return _("Refused %(person)s's request to read the reporter's identity (reason: "
             "%(reason)s)", person=names.person(requester), reason=reason_label(code))


def _read(details: Mapping[str, Any], _names: Names) -> str:
    _fields(details, "request_id")
    return _("Read the reporter's identity")


def _recovered(details: Mapping[str, Any], _names: Names) -> str:
    _fields(details)
    return _("The reporter's identity was recovered with the escrow key")


TIMELINE: dict[str, Describe] = {
    "identity_requested": _requested,
    "identity_request_withdrawn": _withdrawn,
    "identity_request_approved": _approved,
    "identity_request_refused": _refused,
    "identity_read": _read,
    "identity_recovered_from_escrow": _recovered,
}
