"""Retention: what is due for purging, legal holds, a unit's retention period (casework.retention).

Thin: each view parses its form, calls one domain function and says what happened.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("retention", __name__)
