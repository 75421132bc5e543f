"""The language switch (the shared one in :mod:`common.i18n`)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from common.i18n import switch_language

bp = Blueprint("language", __name__)


@bp.get("/language/<code>")
def switch(code: str) -> Response:
    """Switch language and go back to the page the link was on."""
    return switch_language(code)
