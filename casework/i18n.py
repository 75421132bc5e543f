"""Language choice for casework: Swedish by default, English one click away (a cookie).

Role, stage, category, outcome and agency values stay codes in the database; only their
labels are translated, through the dictionaries below (exposed to templates as
``role_label``, ``stage_label``, ``category_label``, ``outcome_label``, ``agency_label``
and ``unit_label``). Stages, categories and outcomes are keyed by the contract's enums
(``common.contract``); tests check every member has a label in both languages and no
label names a code the contract lacks. The English labels of roles and stages read as
the raw values did before; category labels are the ones intake shows the tipster.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from common.contract import Category, Outcome, Stage
from common.i18n import LANG_COOKIE, LANGUAGES
from common.i18n import init_babel as init_common_babel
from common.vocabulary import agency_label as vocabulary_agency_label

from .models import Role, Unit

__all__ = ["CATEGORY_LABELS", "LANGUAGES", "LANG_COOKIE", "OUTCOME_LABELS", "ROLE_LABELS",
           "STAGE_LABELS", "agency_label", "category_label", "init_babel", "outcome_label",
           "role_label", "stage_label", "unit_label"]

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
                             agency_label=agency_label, unit_label=unit_label)
