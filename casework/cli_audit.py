"""``flask --app casework audit ...`` (issue 10)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the ``audit`` command group to ``app``."""
