"""Deadlines: extend the feedback deadline to six months with a reason (casework.deadlines).

Thin: each view parses its form, calls one domain function and says what happened.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deadlines", __name__)
