"""The statistics API for the transparency portal: read-only JSON, released tables only.

Token-authenticated (``Authorization: Bearer``) and rate-limited in the view; the
permission table lists its routes as public because no staff session is involved.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)
