"""``flask --app casework deadlines ...``: the command line of casework.deadlines."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the ``deadlines`` command group to ``app``."""
