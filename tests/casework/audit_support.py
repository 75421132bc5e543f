"""Helpers for the audit log's tests: events with sample values, a log built through
units of work, entries read back, tampering done in SQL."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import pkgutil
import types
import typing
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, text

import crypto
from casework import events
from casework.audit.verify import Verdict, verify_database
from casework.models import AuditCheckpoint, AuditEntry
from common.unit_of_work import DomainEvent, emit_on

from .conftest import services


def event_classes() -> list[type[DomainEvent]]:
    """Every DomainEvent subclass defined in a module of casework.events (today's and any
    added, in any module), found by walking the package rather than by trusting its
    ``ALL``: sorted by name."""
    found: list[type[DomainEvent]] = []
    for info in pkgutil.iter_modules(events.__path__, f"{events.__name__}."):
        module = importlib.import_module(info.name)
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, DomainEvent) and cls is not DomainEvent
                  and cls.__module__ == module.__name__]
    return sorted(found, key=lambda cls: cls.__name__)


def _sample(hint: Any, name: str) -> Any:
    if hint in (str, typing.Optional[str]) or (  # noqa: UP045 (the hint's own form)
            isinstance(hint, types.UnionType) and str in typing.get_args(hint)):
        return "0" * 31 + str(len(name) % 10)
    if hint is bool:
        return True
    if hint is int or (isinstance(hint, types.UnionType)
                       and set(typing.get_args(hint)) == {int, type(None)}):
        return 3
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    if typing.get_origin(hint) is tuple:
        return ("category", "priority")
    raise AssertionError(f"no sample for {hint!r} ({name})")


def sample(cls: type[DomainEvent]) -> DomainEvent:
    """An instance of ``cls`` with a sample value in every field."""
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _sample(hints[f.name], f.name) for f in dataclasses.fields(cls)})


def emit(app: Flask, *batch: DomainEvent) -> None:
    """Emit ``batch`` in one unit of work, committed."""
    with services(app).unit() as unit:
        for event in batch:
            emit_on(unit.session, event)


def entries(app: Flask) -> list[AuditEntry]:
    with services(app).db.session() as db:
        return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def checkpoint_seqs(app: Flask) -> list[int]:
    with services(app).db.session() as db:
        return list(db.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))


def check(app: Flask, batch: int = 3, head_file: Path | bool | None = True) -> Verdict:
    """Verify ``app``'s log (small batches, so that batching is exercised)."""
    casework = services(app)
    key = crypto.SigningKey.from_seed(casework.config.audit_signing_key_file.read_bytes())
    path = casework.config.audit_head_file if head_file is True else (head_file or None)
    return verify_database(casework.db, key.verify_key, path, batch=batch)


def sql(app: Flask, statement: str, **params: Any) -> None:
    """Run ``statement`` straight on the database, past the application."""
    with services(app).db.engine.begin() as connection:
        connection.execute(text(statement), params)
