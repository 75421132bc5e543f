"""Language choice for casework: Swedish by default, English one click away (a cookie).

Role and stage values stay English in the database; only their labels are translated,
through ``ROLE_LABELS`` and ``STAGE_LABELS`` (exposed to templates as ``role_label`` and
``stage_label``). The English labels read as the raw values did before.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from common.i18n import LANG_COOKIE, LANGUAGES
from common.i18n import init_babel as init_common_babel

from .models import Role, Stage

__all__ = ["LANGUAGES", "LANG_COOKIE", "ROLE_LABELS", "STAGE_LABELS", "init_babel",
           "role_label", "stage_label"]

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


def role_label(role: str) -> str:
    """The label of a role value in the current language (the value itself if unknown)."""
    return str(ROLE_LABELS.get(role, role))


def stage_label(stage: str) -> str:
    """The label of a stage value in the current language (the value itself if unknown)."""
    return str(STAGE_LABELS.get(stage, stage))


def init_babel(app: Flask) -> Babel:
    """The shared language choice, plus the role and stage labels for templates."""
    return init_common_babel(app, role_label=role_label, stage_label=stage_label)
