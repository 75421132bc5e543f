"""The intake app's database handle."""

from __future__ import annotations

from flask import Flask

from common.db import Database

EXTENSION = "lykta.intake.db"

__all__ = ["Database", "init_app"]


def init_app(app: Flask, url: str) -> Database:
    """Attach a :class:`Database` to ``app``."""
    database = Database(url)
    app.extensions[EXTENSION] = database
    return database

