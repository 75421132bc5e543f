"""Confidential identities under four eyes (casework.identity): a reader's request, a
custodian's decision, reading an approved identity.

Thin: each view parses its form, calls one domain function and says what happened.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("identity", __name__)
