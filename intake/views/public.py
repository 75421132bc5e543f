"""Landing page, the anonymity guide and the language switch."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from common.i18n import switch_language

from ..categories import CATEGORIES

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
    return switch_language(code)
