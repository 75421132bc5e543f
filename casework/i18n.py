"""Language choice for casework: Swedish by default, English one click away (a cookie).

Role and stage values stay English in the database; only their labels are translated,
through ``ROLE_LABELS`` and ``STAGE_LABELS`` (exposed to templates as ``role_label`` and
``stage_label``). The English labels read as the raw values did before.
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from werkzeug.wrappers import Response

from .models import Role, Stage

LANGUAGES = ("sv", "en")
LANG_COOKIE = "lang"

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


def select_locale() -> str:
    """The language for this request: the person's choice, else the configured default."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    default: str = current_app.config["BABEL_DEFAULT_LOCALE"]
    return default


def set_language_cookie(response: Response, code: str) -> None:
    """Remember the language (a year; it identifies nobody: two possible values)."""
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True,
                        samesite="Strict", secure=current_app.config["SESSION_COOKIE_SECURE"])


def init_babel(app: object) -> Babel:
    """Attach Flask-Babel with our selector; expose the locale and the labels to templates."""
    babel = Babel(app, locale_selector=select_locale)  # type: ignore[arg-type]
    app.jinja_env.globals.update(get_locale=get_locale,  # type: ignore[attr-defined]
                                 role_label=role_label, stage_label=stage_label)
    return babel
