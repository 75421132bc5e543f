"""``flask --app casework oral ...``: the command line of casework.oral."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the ``oral`` command group to ``app``."""
