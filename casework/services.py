"""The parts of one running casework app, built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from common.db import Database
from common.storage import EnvelopeStore

from .config import CaseworkConfig

EXTENSION = "lykta.casework"


@dataclass
class Casework:
    """Config, database and envelope storage."""

    config: CaseworkConfig
    db: Database
    store: EnvelopeStore


def current() -> Casework:
    """The casework of the current Flask app."""
    services: Casework = current_app.extensions[EXTENSION]
    return services
