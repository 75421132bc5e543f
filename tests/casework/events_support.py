"""Helpers for the unit-of-work and event tests: a recorder on the app's dispatcher, the
rows and bodies a case has, a case to work on."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import Case, CaseEnvelope
from common.unit_of_work import DomainEvent, Phase
from tests.intake.conftest import submit

from .conftest import csrf, services
from .linked import Linked
from .test_cases import _case_id


@dataclass
class Recorder:
    """Every event the app dispatches, by phase; and what the database held then."""

    before: list[DomainEvent] = field(default_factory=list)
    after: list[DomainEvent] = field(default_factory=list)
    # For each event heard after the commit: the case ids and envelope ids that another
    # connection saw at that moment (it sees a row only once its transaction committed).
    cases_seen: list[frozenset[str]] = field(default_factory=list)
    rows_seen: list[frozenset[str]] = field(default_factory=list)

    def of(self, kind: type[DomainEvent]) -> list[DomainEvent]:
        return [e for e in self.after if isinstance(e, kind)]

    @property
    def committed_rows(self) -> dict[str, bool]:
        """For each event naming an envelope: was its row committed when it was heard?"""
        return {event.envelope_id: event.envelope_id in rows
                for event, rows in zip(self.after, self.rows_seen, strict=True)
                if isinstance(getattr(event, "envelope_id", None), str)}

    def clear(self) -> None:
        self.before.clear()
        self.after.clear()
        self.cases_seen.clear()
        self.rows_seen.clear()


def record(app: Flask) -> Recorder:
    """Subscribe a recorder to every event of ``app``, in both phases."""
    recorder = Recorder()
    casework = services(app)

    def before(_session: Session, event: DomainEvent) -> None:
        recorder.before.append(event)

    def after(_session: Session, event: DomainEvent) -> None:
        recorder.after.append(event)
        with casework.db.session() as other:
            recorder.cases_seen.append(frozenset(other.scalars(select(Case.id))))
            recorder.rows_seen.append(frozenset(other.scalars(select(CaseEnvelope.id))))

    casework.dispatcher.subscribe(DomainEvent, before, phase=Phase.BEFORE_COMMIT)
    casework.dispatcher.subscribe(DomainEvent, after, phase=Phase.AFTER_COMMIT)
    return recorder


def only_ids_and_codes(event: DomainEvent) -> bool:
    """True if every field is an id, a count, a flag or a code (never free text)."""
    return all(isinstance(getattr(event, f.name), (str, int, bool, type(None)))
               for f in fields(event))


@dataclass(frozen=True)
class Snapshot:
    """A case's envelope rows and the bodies in the store."""

    rows: frozenset[str]
    bodies: frozenset[str]


def snapshot(app: Flask) -> Snapshot:
    casework = services(app)
    with casework.db.session() as db:
        rows = frozenset(db.scalars(select(CaseEnvelope.id)))
    root: Path = casework.store.root
    bodies = frozenset(p.name for p in root.iterdir() if p.is_file())
    incoming = frozenset(p.name for p in casework.store.incoming_dir.iterdir())
    assert not incoming, "a body was left in incoming/"
    return Snapshot(rows, bodies)


def a_case(linked: Linked, **report: object) -> str:
    """Submit a report through intake and import it; the case id."""
    submit(linked.intake.test_client(), **report)
    linked.sync()
    return _case_id(linked)


def post_text(client: FlaskClient, case_id: str, what: str, text: str,
              token: str | None = None) -> int:
    """Post a reply (``what="reply"``) or a note (``"note"``); the status code."""
    path = "reply" if what == "reply" else "notes"
    token = csrf(client, f"/cases/{case_id}") if token is None else token
    return client.post(f"/cases/{case_id}/{path}",
                       data={"csrf_token": token, f"{what}-text": text}).status_code


def case_exists(app: Flask, case_id: str) -> bool:
    with services(app).db.session() as db:
        return db.get(Case, case_id) is not None
