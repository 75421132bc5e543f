"""The auditor's view of the log: filtered, paginated by seq (keyset), exported.

Filters: a case (its reference or id), a person (the actor), an action, a period (dates,
UTC, both ends included), and free text over the fields that are never content (action,
ids, details). The export streams the filtered set in batches, each read in a short
transaction of its own, in CSV or JSON.

Nothing here reads content: an entry holds ids and codes only; what is added for reading
is a person's display name and a case's reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from common.db import Database

from .. import events
from ..models import AuditEntry, Case, User
from . import chain
from .record import action_code

PAGE = 50
EXPORT_BATCH = 1000
TEXT_LIMIT = 100


class BadFilter(ValueError):
    """A filter value that is not one (said which, for the form)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class Filter:
    """What the auditor asked for (None: any)."""

    case: str | None = None
    person: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    text: str | None = None

    @classmethod
    def parse(cls, args: dict[str, str]) -> Filter:
        """From query arguments; :class:`BadFilter` names the first bad one."""
        values: dict[str, str | None] = {}
        for name in ("case", "person", "action", "text"):
            value = (args.get(name) or "").strip()
            if len(value) > TEXT_LIMIT or any(ord(c) < 32 for c in value):
                raise BadFilter(name)
            values[name] = value or None
        if values["action"] is not None and values["action"] not in known_actions():
            raise BadFilter("action")
        dates: dict[str, dt.date | None] = {}
        for name in ("since", "until"):
            raw = (args.get(name) or "").strip()
            try:
                dates[name] = dt.date.fromisoformat(raw) if raw else None
            except ValueError as exc:
                raise BadFilter(name) from exc
        return cls(case=values["case"], person=values["person"], action=values["action"],
                   since=dates["since"], until=dates["until"], text=values["text"])

    def query(self) -> dict[str, str]:
        """As query arguments again (for the next page's and the export's links)."""
        pairs = {"case": self.case, "person": self.person, "action": self.action,
                 "since": self.since.isoformat() if self.since else None,
                 "until": self.until.isoformat() if self.until else None, "text": self.text}
        return {k: v for k, v in pairs.items() if v}


@dataclass(frozen=True)
class Row:
    """An entry as the auditor reads it."""

    seq: int
    at: dt.datetime
    actor_id: str | None
    actor: str | None  # display name (None: no person, or one no longer known)
    action: str
    case_id: str | None
    case_reference: str | None
    details: str
    hash: str


@dataclass(frozen=True)
class Page:
    """One page, newest first; ``older`` is the seq to continue below (None: the end)."""

    rows: list[Row]
    older: int | None


def known_actions() -> list[str]:
    """Every action code the log can hold (one per event of casework.events)."""
    return sorted({action_code(cls) for cls in events.ALL})


def people(session: Session) -> list[tuple[str, str]]:
    """(id, display name) of everyone, for the person filter."""
    return [(u.id, u.display_name) for u in
            session.scalars(select(User).order_by(User.display_name, User.id))]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _statement(session: Session, wanted: Filter) -> Select[AuditEntry]:
    statement = select(AuditEntry)
    if wanted.case:
        reference = session.scalar(select(Case.id).where(Case.reference == wanted.case))
        statement = statement.where(AuditEntry.case_id == (reference or wanted.case))
    if wanted.person:
        statement = statement.where(AuditEntry.actor_id == wanted.person)
    if wanted.action:
        statement = statement.where(AuditEntry.action == wanted.action)
    if wanted.since:
        statement = statement.where(AuditEntry.at >= dt.datetime.combine(
            wanted.since, dt.time()))
    if wanted.until:
        statement = statement.where(AuditEntry.at < dt.datetime.combine(
            wanted.until + dt.timedelta(days=1), dt.time()))
    if wanted.text:
        pattern = _like(wanted.text)
        statement = statement.where(or_(*(column.like(pattern, escape="\\") for column in (
            AuditEntry.action, AuditEntry.actor_id, AuditEntry.case_id,
            AuditEntry.details))))
    return statement


def _rows(session: Session, found: Iterable[AuditEntry]) -> list[Row]:
    entries = list(found)
    actors = {e.actor_id for e in entries if e.actor_id}
    cases = {e.case_id for e in entries if e.case_id}
    names: dict[str, str] = {}
    if actors:
        names = {row.id: row.display_name for row in session.execute(
            select(User.id, User.display_name).where(User.id.in_(actors)))}
    references: dict[str, str] = {}
    if cases:
        references = {row.id: row.reference for row in session.execute(
            select(Case.id, Case.reference).where(Case.id.in_(cases)))}
    return [Row(e.seq, e.at, e.actor_id, names.get(e.actor_id or ""), e.action, e.case_id,
                references.get(e.case_id or ""), e.details, bytes(e.hash).hex())
            for e in entries]


def page(session: Session, wanted: Filter, older_than: int | None = None,
         size: int = PAGE) -> Page:
    """The newest ``size`` entries matching ``wanted`` below seq ``older_than``."""
    statement = _statement(session, wanted)
    if older_than is not None:
        statement = statement.where(AuditEntry.seq < older_than)
    found = list(session.scalars(statement.order_by(AuditEntry.seq.desc()).limit(size + 1)))
    more = len(found) > size
    rows = _rows(session, found[:size])
    return Page(rows, rows[-1].seq if more and rows else None)


def stream(database: Database, wanted: Filter, batch: int = EXPORT_BATCH) -> Iterator[Row]:
    """Every matching entry, oldest first, a batch per short transaction."""
    after = 0
    while True:
        with database.session() as session:
            found = list(session.scalars(_statement(session, wanted)
                                         .where(AuditEntry.seq > after)
                                         .order_by(AuditEntry.seq).limit(batch)))
            rows = _rows(session, found)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


FIELDS = ("seq", "at", "actor_id", "actor", "action", "case_id", "case_reference",
          "details", "hash")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula; display names are typed by
    # administrators, so they are defused here (OWASP's CSV injection advice).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _values(row: Row) -> list[object]:
    return [row.seq, chain.iso(row.at) + "Z", row.actor_id, row.actor, row.action,
            row.case_id, row.case_reference, row.details, row.hash]


def as_csv(rows: Iterable[Row]) -> Iterator[str]:
    """CSV, a header line then a line per entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([_cell(v) for v in _values(row)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def as_json(rows: Iterable[Row]) -> Iterator[str]:
    """A JSON array of entry objects (``details`` parsed), streamed."""
    yield "["
    first = True
    for row in rows:
        record = dict(zip(FIELDS, _values(row), strict=True))
        record["details"] = json.loads(row.details)
        yield ("" if first else ",") + "\n" + json.dumps(record, ensure_ascii=True,
                                                         sort_keys=True)
        first = False
    yield "\n]\n"
