"""Routes of the workflow section (filled in by issue 10's work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("workflow", __name__)
