"""Landing page, the anonymity guide and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from ..categories import CATEGORIES
from ..i18n import LANG_COOKIE, LANGUAGES, set_language_cookie

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    """What can be reported, who reads it, what happens next."""
    return render_template("index.html", categories=CATEGORIES)


@bp.get("/anonymity")
def anonymity() -> str:
    """How to stay anonymous."""
    return render_template("anonymity.html")


@bp.get("/language/<code>")
def language(code: str) -> Response:
    """Switch language and go back to the page the link was on."""
    target = request.args.get("next", "/")
    # Only local paths: an open redirect would let a phishing link borrow our name.
    parts = urlsplit(target)
    # Browsers read "/\\host" like "//host": refuse backslashes and control characters too.
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(ch) < 32 for ch in target)):
        target = "/"
    response = redirect(target)
    if code in LANGUAGES:
        set_language_cookie(response, code)
    else:
        response.delete_cookie(LANG_COOKIE)
    return response
