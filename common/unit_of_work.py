"""One unit of work per request and per job: one transaction, then its domain events.

Every change the two web apps, the CLI and the bridge's import make passes through here
(intake's sync app is the one exception: see ``intake/bridge/sync.py``). A view or a job
opens one :class:`UnitOfWork`; the domain functions it calls take ``uow.session``
(envelope bodies they move into the store are tied to it by
:func:`common.storage.commit_in_transaction`, so a rollback removes them) and record what
happened with :func:`emit_on`. When the
request ends the unit commits once, or rolls back once, and only then are its events
handed to the subscribers:

- ``BEFORE_COMMIT`` subscribers run inside the transaction, with the session, just
  before the commit: what they write (the audit log) commits or rolls back together with
  the change it records, so there is never an action without its entry or the reverse.
- ``AFTER_COMMIT`` subscribers run once the commit has succeeded (a notification, a job
  to enqueue): they never see a change that did not happen.
- ``AFTER_ROLLBACK`` subscribers hear the events of a unit that rolled back instead (a
  refusal, an exception, a failed commit): to give up what a domain function reserved
  outside the database for an after-commit step (a claim in Redis). They never raise.

Events name ids and codes, never content: they are dataclasses built by the domain
layer, and a subscriber that needs more reads it from the session.

The rule for a web request (:func:`install`): a response with a status below 400 commits;
an error response or an exception changes nothing. The few records that must survive a
refused request (sign-in throttles, lockout counters) are written in a transaction of
their own, on purpose, by the domain function that needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, TypeVar

from flask import Flask, Response, g
from sqlalchemy.orm import Session

from .db import Database

log = logging.getLogger("lykta.unit_of_work")
_SESSION_KEY = "lykta_unit_of_work"


@dataclass(frozen=True)
class DomainEvent:
    """Something the domain layer did. Subclasses carry ids and codes, never content."""


E = TypeVar("E", bound=DomainEvent)


class Phase(StrEnum):
    """When a subscriber runs relative to the commit."""

    BEFORE_COMMIT = "before-commit"
    AFTER_COMMIT = "after-commit"
    AFTER_ROLLBACK = "after-rollback"


Handler = Callable[[Session, Any], None]


class Dispatcher:
    """Who listens to which event; each app holds one (no module-level registry)."""

    def __init__(self) -> None:
        self._handlers: dict[Phase, list[tuple[type[DomainEvent], Handler]]] = {
            phase: [] for phase in Phase}

    def subscribe(self, event_type: type[E], handler: Callable[[Session, E], None], *,
                  phase: Phase = Phase.BEFORE_COMMIT) -> None:
        """Call ``handler(session, event)`` for every event of ``event_type`` (or a subclass)."""
        self._handlers[phase].append((event_type, handler))

    def dispatch(self, phase: Phase, session: Session, events: list[DomainEvent]) -> None:
        """Hand ``events`` to the subscribers of ``phase``, in the order they happened."""
        for event in events:
            for event_type, handler in self._handlers[phase]:
                if isinstance(event, event_type):
                    handler(session, event)


class UnitOfWork:
    """One transaction, the bodies it wrote, and the events it emitted."""

    def __init__(self, db: Database, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._events: list[DomainEvent] = []
        self.session: Session = db.sessions()
        self.session.begin()
        # Lets a domain function that was handed only the session emit (see emit_on).
        self.session.info[_SESSION_KEY] = self
        self.open = True

    def emit(self, event: DomainEvent) -> None:
        """Record that something happened; subscribers hear of it at commit."""
        self._events.append(event)

    def commit(self) -> None:
        """Run the in-transaction subscribers, commit, then the after-commit ones."""
        if not self.open:
            return
        try:
            self.session.flush()
            # Subscribers may emit in turn (an audit entry per event, say); those land in
            # the same transaction, and are handed on after the commit like the rest.
            self._dispatcher.dispatch(Phase.BEFORE_COMMIT, self.session, list(self._events))
            self.session.commit()
        except BaseException:
            self.rollback()
            raise
        self.open = False
        events, self._events = self._events, []
        try:
            self._dispatcher.dispatch(Phase.AFTER_COMMIT, self.session, events)
        finally:
            self.session.close()

    def rollback(self) -> None:
        """Undo everything: rows, staged bodies, events (idempotent)."""
        if not self.open:
            return
        self.open = False
        events, self._events = self._events, []
        try:
            self.session.rollback()
        finally:
            try:
                # A rollback often runs while an exception is on its way out: a failing
                # subscriber is logged, never raised over it.
                self._dispatcher.dispatch(Phase.AFTER_ROLLBACK, self.session, events)
            except Exception:
                log.exception("an after-rollback subscriber failed")
            finally:
                self.session.close()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


_G_KEY = "lykta_unit_of_work"


def unit_of(session: Session) -> UnitOfWork | None:
    """The unit of work that opened ``session`` (None for a session opened otherwise)."""
    unit: UnitOfWork | None = session.info.get(_SESSION_KEY)
    return unit


def emit_on(session: Session, event: DomainEvent) -> None:
    """Emit ``event`` on the unit of work of ``session``.

    Domain functions take the session; this finds its unit. A session opened outside a
    unit of work (a one-off script, a test calling a domain function directly) has no
    dispatcher, so there is no one to tell: the event is dropped, and said so at debug.
    """
    unit = unit_of(session)
    if unit is None:
        log.debug("%s emitted outside a unit of work; no subscriber hears it",
                  type(event).__name__)
        return
    unit.emit(event)


def install(app: Flask, db: Database, dispatcher: Dispatcher) -> None:
    """One unit of work per request: opened on first use, settled once when it ends.

    A response below 400 commits; anything else (a refusal, an error page, an exception
    that escaped every handler) rolls back, so a refused request changes nothing.
    """

    def opener() -> UnitOfWork:
        unit: UnitOfWork | None = g.get(_G_KEY)
        if unit is None or not unit.open:
            unit = UnitOfWork(db, dispatcher)
            setattr(g, _G_KEY, unit)
        return unit

    app.extensions["lykta_unit_of_work"] = opener

    @app.after_request
    def settle(response: Response) -> Response:
        unit: UnitOfWork | None = g.get(_G_KEY)
        if unit is not None:
            if response.status_code < 400:
                # A failed commit raises here: Flask answers with the error page (500),
                # and the rollback has already removed every staged body.
                unit.commit()
            else:
                unit.rollback()
        return response

    @app.teardown_request
    def close(_error: BaseException | None) -> None:
        unit: UnitOfWork | None = g.get(_G_KEY)
        if unit is not None:
            unit.rollback()  # a no-op after a commit; otherwise nothing half-done stays


def request_unit(app: Flask) -> UnitOfWork:
    """This request's unit of work (opened on first use)."""
    opener: Callable[[], UnitOfWork] = app.extensions["lykta_unit_of_work"]
    return opener()
