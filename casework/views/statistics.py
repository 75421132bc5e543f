"""KOF's statistics pages: the dashboard, exports, releases and API tokens.

Thin: each view parses its query or form, calls one function of casework.statistics and
renders. The statistician reads released (disclosure-controlled) figures only.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("statistics", __name__)
