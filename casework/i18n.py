"""Language choice for casework: Swedish by default, English one click away (a cookie).

Role, stage, category, outcome and agency values stay codes in the database; only their
labels are translated, through the dictionaries below (exposed to templates as
``role_label``, ``stage_label``, ``category_label``, ``outcome_label``, ``agency_label``
and ``unit_label``). Stages, categories and outcomes are keyed by the contract's enums
(``common.contract``); tests check every member has a label in both languages and no
label names a code the contract lacks. The English labels of roles and stages read as
the raw values did before; category labels are the ones intake shows the tipster. The
workflow's reason codes, priorities and link kinds (casework's own enums) have tables
here too (``reason_label``, ``priority_label``, ``link_kind_label`` in templates).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from common.contract import Category, Outcome, Stage
from common.i18n import LANG_COOKIE, LANGUAGES
from common.i18n import init_babel as init_common_babel
from common.vocabulary import agency_label as vocabulary_agency_label

from .models import LinkKind, Priority, ReasonCode, Role, Unit

__all__ = ["CATEGORY_LABELS", "LANGUAGES", "LANG_COOKIE", "LINK_KIND_LABELS",
           "OUTCOME_LABELS", "PRIORITY_LABELS", "REASON_LABELS", "ROLE_LABELS", "STAGE_LABELS",
           "StatusText", "agency_label", "category_label", "init_babel", "link_kind_label",
           "outcome_label", "priority_label", "reason_label", "role_label", "stage_label",
           "unit_label"]

ROLE_LABELS: dict[str, LazyString] = {
    Role.ADMINISTRATOR: _l("administrator"),
    Role.UNIT_LEAD: _l("unit lead"),
    Role.REVIEWER: _l("reviewer"),
    Role.CUSTODIAN: _l("custodian"),
    Role.STATISTICIAN: _l("statistician"),
    Role.AUDITOR: _l("auditor"),
}

STAGE_LABELS: dict[str, LazyString] = {
    Stage.RECEIVED: _l("received"),
    Stage.ACKNOWLEDGED: _l("acknowledged"),
    Stage.ASSESSED: _l("assessed"),
    Stage.INVESTIGATING: _l("investigating"),
    Stage.CONCLUDED: _l("concluded"),
}

# The English texts are intake's, so staff and tipster name a category alike. Casework
# keeps its own copy because each app has its own catalogue (and never imports intake).
CATEGORY_LABELS: dict[str, LazyString] = {
    Category.CORRUPTION: _l("Corruption or bribery"),
    Category.PROCUREMENT: _l("Favouritism in public procurement"),
    Category.BIAS: _l("Political or ideological bias in casework"),
    Category.ETHICS: _l("Breach of ethics rules"),
    Category.FUNDS: _l("Misuse of public funds"),
    Category.RETALIATION: _l("Retaliation against someone who reported"),
    Category.OTHER: _l("Something else"),
}

OUTCOME_LABELS: dict[str, LazyString] = {
    Outcome.SUBSTANTIATED: _l("substantiated"),
    Outcome.NOT_SUBSTANTIATED: _l("not substantiated"),
    Outcome.REFERRED: _l("referred"),
    Outcome.DISMISSED: _l("dismissed"),
    Outcome.CLOSED_WITHOUT_FOLLOW_UP: _l("closed without follow-up"),
}


# The workflow's own words (casework.workflow, casework.triage): keyed by casework's enums
# (casework.models.enums); tests check every member has a label in both languages.
REASON_LABELS: dict[str, LazyString] = {
    ReasonCode.RECEIPT_CONFIRMED: _l("receipt confirmed"),
    ReasonCode.WITHIN_SCOPE: _l("within the channel's scope"),
    ReasonCode.NEEDS_MORE_INFORMATION: _l("needs more information"),
    ReasonCode.INVESTIGATION_OPENED: _l("investigation opened"),
    ReasonCode.EVIDENCE_SUFFICIENT: _l("evidence sufficient"),
    ReasonCode.EVIDENCE_INSUFFICIENT: _l("evidence insufficient"),
    ReasonCode.OUTSIDE_SCOPE: _l("outside the channel's scope"),
    ReasonCode.DUPLICATE: _l("duplicate of another case"),
    ReasonCode.WITHDRAWN: _l("withdrawn by the tipster"),
    ReasonCode.REFERRED_ELSEWHERE: _l("referred elsewhere"),
    ReasonCode.NEW_INFORMATION: _l("new information"),
    ReasonCode.HANDLING_ERROR: _l("error in the handling"),
    ReasonCode.TIPSTER_REQUEST: _l("at the tipster's request"),
    ReasonCode.SERIOUSNESS: _l("seriousness"),
    ReasonCode.COMPETENCE: _l("competence"),
    ReasonCode.CONFLICT_IN_UNIT: _l("conflict of interest in the unit"),
    ReasonCode.CRIMINAL_SUSPICION: _l("suspected crime"),
    ReasonCode.OTHER: _l("other reason"),
}

PRIORITY_LABELS: dict[str, LazyString] = {
    Priority.LOW: _l("low"),
    Priority.NORMAL: _l("normal"),
    Priority.HIGH: _l("high"),
    Priority.URGENT: _l("urgent"),
}

LINK_KIND_LABELS: dict[str, LazyString] = {
    LinkKind.RELATED: _l("related"),
    LinkKind.DUPLICATE: _l("duplicate"),
}


def reason_label(code: str) -> str:
    """The label of a reason code in the current language (the code itself if unknown)."""
    return str(REASON_LABELS.get(code, code))


def priority_label(priority: str) -> str:
    """The label of a priority in the current language (the value itself if unknown)."""
    return str(PRIORITY_LABELS.get(priority, priority))


def link_kind_label(kind: str) -> str:
    """The label of a link kind in the current language (the value itself if unknown)."""
    return str(LINK_KIND_LABELS.get(kind, kind))


@dataclass(frozen=True)
class StatusText:
    """What a status update told the tipster, as staff read it in the dialogue: put into
    words when rendered, so in the reader's language, from codes alone."""

    stage: str
    outcome: str | None = None
    reopened: bool = False
    referred_to_name: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        text: str
        if self.reopened:
            text = _("Told the tipster: the case was reopened (%(stage)s).",
                     stage=stage_label(self.stage))
        elif self.outcome:
            text = _("Told the tipster: %(stage)s, outcome %(outcome)s.",
                     stage=stage_label(self.stage), outcome=outcome_label(self.outcome))
        else:
            text = _("Told the tipster: %(stage)s.", stage=stage_label(self.stage))
        names = dict(self.referred_to_name)
        name = names.get(_language()) or names.get("sv")
        if name:
            text += " " + _("Referred to %(authority)s.", authority=name)
        return str(text)


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "sv"


def role_label(role: str) -> str:
    """The label of a role value in the current language (the value itself if unknown)."""
    return str(ROLE_LABELS.get(role, role))


def stage_label(stage: str) -> str:
    """The label of a stage value in the current language (the value itself if unknown)."""
    return str(STAGE_LABELS.get(stage, stage))


def category_label(category: str) -> str:
    """The label of a category code in the current language (the code if unknown)."""
    return str(CATEGORY_LABELS.get(category, category))


def outcome_label(outcome: str) -> str:
    """The label of an outcome value in the current language (the value itself if unknown)."""
    return str(OUTCOME_LABELS.get(outcome, outcome))


def agency_label(code: str | None) -> str:
    """The name of an agency code in the current language (a dash when none is recorded)."""
    return "\N{EN DASH}" if not code else vocabulary_agency_label(code, _language())


def unit_label(unit: Unit | None, fallback: str = "") -> str:
    """A unit's name in the current language, from its row (``fallback`` without one)."""
    if unit is None:
        return fallback
    return unit.name_en if _language() == "en" else unit.name_sv


def init_babel(app: Flask) -> Babel:
    """The shared language choice, plus the label functions for templates."""
    return init_common_babel(app, role_label=role_label, stage_label=stage_label,
                             category_label=category_label, outcome_label=outcome_label,
                             agency_label=agency_label, unit_label=unit_label,
                             reason_label=reason_label, priority_label=priority_label,
                             link_kind_label=link_kind_label)
