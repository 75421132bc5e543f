"""Language choice, shared by both apps: Swedish by default, English one click away.

The choice is a cookie with two possible values, so it identifies nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, redirect, request
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


def init_babel(app: Flask, **template_globals: Callable[..., object]) -> Babel:
    """Attach Flask-Babel with our selector; expose ``get_locale`` (and more) to templates."""
    babel = Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(get_locale=get_locale, **template_globals)
    return babel


def is_local_path(target: str) -> bool:
    """True only for a path on this site (an open redirect would lend our name to phishing).

    Browsers read a backslash as a slash and drop tabs and newlines, so such paths could
    still become ``//elsewhere``: they are refused too.
    """
    parts = urlsplit(target)
    return (target.startswith("/") and not target.startswith("//") and not parts.scheme
            and not parts.netloc and "\\" not in target
            and not any(ord(c) < 32 or ord(c) == 127 for c in target))


def switch_language(code: str) -> Response:
    """Redirect back to ``?next=`` (local paths only) with the language cookie set.

    A query string that is not UTF-8 (raw bytes a browser never sends) cannot name a page
    of ours: the parameter is ignored and the visitor goes to the start page, rather than
    the decoding error becoming a 500. (The request guard refuses such requests before
    they get here; this keeps the switch safe on its own.)
    """
    try:
        target = request.args.get("next", "/")
    except UnicodeDecodeError:
        target = "/"
    response = redirect(target if is_local_path(target) else "/")
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True,
                            samesite="Strict",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    else:
        response.delete_cookie(LANG_COOKIE)
    return response
