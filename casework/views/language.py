"""The language switch: Swedish by default, English one click away."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from ..i18n import LANG_COOKIE, LANGUAGES, set_language_cookie

bp = Blueprint("language", __name__)


def is_local_path(target: str) -> bool:
    """True only for a path on this site (an open redirect would lend our name to phishing).

    Browsers read a backslash as a slash and drop tabs and newlines, so such paths could
    still become ``//elsewhere``: they are refused too.
    """
    parts = urlsplit(target)
    return (target.startswith("/") and not target.startswith("//") and not parts.scheme
            and not parts.netloc and "\\" not in target
            and not any(ord(c) < 32 or ord(c) == 127 for c in target))


@bp.get("/language/<code>")
def switch(code: str) -> Response:
    """Switch language and go back to the page the link was on."""
    target = request.args.get("next", "/")
    if not is_local_path(target):
        target = "/"
    response = redirect(target)
    if code in LANGUAGES:
        set_language_cookie(response, code)
    else:
        response.delete_cookie(LANG_COOKIE)
    return response
