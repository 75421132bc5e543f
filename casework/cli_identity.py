"""``flask --app casework identity ...``: the command line of casework.identity."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the ``identity`` command group to ``app``."""
