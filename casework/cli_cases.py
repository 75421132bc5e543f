"""``flask --app casework cases ...`` (issue 10)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the ``cases`` command group to ``app``."""
