"""The parts of one running casework app, built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from common.db import Database
from common.storage import EnvelopeStore
from common.unit_of_work import Dispatcher, UnitOfWork, request_unit

from .config import CaseworkConfig

EXTENSION = "lykta.casework"


@dataclass
class Casework:
    """Config, database, envelope storage, and who listens to the domain events."""

    config: CaseworkConfig
    db: Database
    store: EnvelopeStore
    # The one place casework's domain events are handed on (casework.events); the audit
    # log subscribes here. Each app has its own: no module-level registry.
    dispatcher: Dispatcher = field(default_factory=Dispatcher)

    def unit(self) -> UnitOfWork:
        """A unit of work of its own (a job, or the few records a refused request keeps)."""
        return UnitOfWork(self.db, self.dispatcher)


def current() -> Casework:
    """The casework of the current Flask app."""
    services: Casework = current_app.extensions[EXTENSION]
    return services


def current_unit() -> UnitOfWork:
    """This request's unit of work: one transaction, settled when the request ends."""
    return request_unit(current_app)
