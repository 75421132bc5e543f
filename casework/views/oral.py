"""Oral and in-person reports (casework.oral): record one, hand over its receipt once,
send minutes for approval.

Thin: each view parses its form, calls one domain function and says what happened.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("oral", __name__)
