"""The parts of one running intake, built once by ``create_app`` and passed to domain code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.orm import Session

import crypto
from common.directory import DirectoryRefused, RecipientDirectory, verify_directory
from common.storage import EnvelopeStore
from common.unit_of_work import Dispatcher, UnitOfWork

from .config import IntakeConfig
from .db import Database
from .gate import Argon2Gate
from .models import DirectoryState

EXTENSION = "lykta.intake"


@dataclass
class Intake:
    """Config, database, storage, the verified directory, the Argon2 gate and the
    dispatcher of intake's domain events (``intake.events``)."""

    config: IntakeConfig
    db: Database
    store: EnvelopeStore
    directory: RecipientDirectory
    gate: Argon2Gate
    dispatcher: Dispatcher = field(default_factory=Dispatcher)

    def unit(self) -> UnitOfWork:
        """A unit of work of its own, outside the request's (use it as a context manager).

        For jobs, and for the few records that must not share the request's fate: the
        request's unit rolls back on any answer of 400 or more.
        """
        return UnitOfWork(self.db, self.dispatcher)


def current() -> Intake:
    """The intake of the current Flask app."""
    intake: Intake = current_app.extensions[EXTENSION]
    return intake


def record_directory(session: Session, config: IntakeConfig,
                     now: dt.datetime | None = None) -> RecipientDirectory:
    """Verify the configured directory file; remember its serial to refuse rollbacks."""
    try:
        document = config.directory_path.read_bytes()
    except FileNotFoundError as exc:
        raise DirectoryRefused(f"no recipient directory at {config.directory_path}") from exc
    key = crypto.VerifyKey(config.casework_verify_key)
    state = session.get(DirectoryState, "current")
    directory = verify_directory(document, key, now=now,
                                 min_serial=state.serial if state else 0)
    if state is None:
        session.add(DirectoryState(name="current", serial=directory.serial,
                                   document=document))
    elif directory.serial > state.serial:
        state.serial, state.document = directory.serial, document
    return directory
