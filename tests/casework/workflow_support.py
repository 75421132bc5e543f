"""Helpers for the workflow and triage tests: acting as a person in a unit of work of
one's own, and the whole workflow state of the database, to compare before and after a
refusal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import select

from casework.models import (
    Case,
    CaseEnvelope,
    CaseLabel,
    CaseLink,
    StageChange,
    User,
)
from tests.support.databases import stored_bytes

from .conftest import services
from .linked import Linked

T = TypeVar("T")


def act(linked: Linked, name: str, action: Callable[..., T], *args: Any,
        with_casework: bool = True, **kwargs: Any) -> T:
    """Run a domain function as ``name`` (their user row and private key), in a unit of
    work of its own: committed if it returns, rolled back if it raises."""
    casework = services(linked.casework)
    staff = linked.staff[name]
    with casework.unit() as unit:
        user = unit.session.scalar(select(User).where(User.username == staff.username))
        assert user is not None
        head = (casework, unit.session) if with_casework else (unit.session,)
        return action(*head, user, staff.key, *args, **kwargs)


def set_stage(app: Flask, case_id: str, stage: str, outcome: str | None = None) -> None:
    """Put a case in ``stage`` directly (test set-up only: the domain never does this)."""
    with services(app).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        case.stage = stage
        case.outcome = outcome


def state(app: Flask) -> tuple[Any, ...]:
    """Every row the workflow and triage write, and the bodies in the store."""
    casework = services(app)
    with casework.db.session() as db:
        cases = sorted((c.id, c.stage, c.outcome, c.concluded_on, c.acknowledged_on,
                        c.feedback_on, c.priority, c.category, c.agency, c.merged_into_id,
                        c.readers_tag)
                       for c in db.scalars(select(Case)))
        envelopes = sorted(db.scalars(select(CaseEnvelope.id)))
        changes = sorted((s.case_id, s.from_stage, s.to_stage)
                         for s in db.scalars(select(StageChange)))
        labels = sorted((x.case_id, x.label) for x in db.scalars(select(CaseLabel)))
        links = sorted((x.case_id, x.linked_case_id, x.kind)
                       for x in db.scalars(select(CaseLink)))
    root: Path = casework.store.root
    bodies = sorted(p.name for p in root.iterdir() if p.is_file())
    return cases, envelopes, changes, labels, links, bodies


def database_bytes(app: Flask) -> bytes:
    """The SQLite database file and its journal/WAL, as bytes on disk (on PostgreSQL: what
    its rows hold; tests/support/databases.py)."""
    return stored_bytes(services(app).config.database_url)
