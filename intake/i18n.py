"""Language choice: Swedish by default, English one click away (a cookie, nothing else)."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import Babel, get_locale
from werkzeug.wrappers import Response

LANGUAGES = ("sv", "en")
LANG_COOKIE = "lang"


def select_locale() -> str:
    """The language for this request: the visitor's choice, else the configured default."""
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
    """Attach Flask-Babel with our selector and expose ``get_locale`` to templates."""
    babel = Babel(app, locale_selector=select_locale)  # type: ignore[arg-type]
    app.jinja_env.globals["get_locale"] = get_locale  # type: ignore[attr-defined]
    return babel
