"""``flask --app casework retention ...``: the command line of casework.retention."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the ``retention`` command group to ``app``."""
