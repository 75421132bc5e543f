"""Routes of the conflicts section (filled in by issue 10's work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("conflicts", __name__)
