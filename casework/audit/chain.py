"""The hash chain: the canonical form of an entry, its hash, and appending in order.

Entry ``n`` stores ``hash = SHA-256(prev_hash || canonical(n))`` and the ``prev_hash`` it
was chained to (entry ``n - 1``'s hash; :data:`GENESIS` for the first). Editing an entry
breaks its own hash; deleting, inserting or reordering breaks the link of the entry that
follows; rewriting the whole suffix is caught by the signed checkpoints
(:mod:`casework.audit.checkpoints`), which an attacker without the signing key cannot
redo.

The canonical form is a JSON array (no spaces, ASCII only) after a version prefix, so a
third party can recompute it in a few lines of any language::

    b"lykta-audit-v1\\n" + json([seq, at, actor_id, action, case_id, details])

with ``at`` in ISO 8601 to the microsecond (UTC, no offset) and ``details`` the stored
canonical JSON text (keys sorted). SHA-256 rather than a keyed hash: anyone holding an
export must be able to check the chain; what no outsider can forge is the checkpoint's
Ed25519 signature, kept in ``crypto/``.

Appending is serialised so that two transactions never chain to the same head: on
PostgreSQL by a transaction-scoped advisory lock taken before the head is read; on SQLite
by casework's transactions taking the write lock at BEGIN (``common/db.py``,
``immediate_writes``).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..models import AuditEntry
from ..models.base import utcnow

GENESIS = bytes(32)
PREFIX = b"lykta-audit-v1\n"
# pg_advisory_xact_lock key: "LyktAudi" read as a big-endian integer (fits a bigint).
ADVISORY_LOCK = int.from_bytes(b"LyktAudi", "big")
_HEAD_KEY = "lykta.audit.head"


@dataclass(frozen=True)
class Draft:
    """An entry before it is chained: what happened, by whom, to which case."""

    action: str
    actor_id: str | None = None
    case_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Head:
    """The newest entry's number and hash (seq 0 and :data:`GENESIS`: an empty chain)."""

    seq: int
    hash: bytes


def _jsonable(value: object) -> object:
    """Codes and ids as JSON: enums by value, tuples and sets as lists, dates in ISO."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def canonical_details(details: Mapping[str, Any]) -> str:
    """Details as canonical JSON: sorted keys, no spaces, ASCII only."""
    return json.dumps({k: _jsonable(v) for k, v in details.items()}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def iso(at: dt.datetime) -> str:
    """An entry's time as it is hashed (naive UTC, to the microsecond)."""
    if at.tzinfo is not None:
        at = at.replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


# One encoder, built once: json.dumps with options builds a new one per call, which is
# most of the cost of checking a million entries.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def canonical(seq: int, at: dt.datetime, actor_id: str | None, action: str,
              case_id: str | None, details: str) -> bytes:
    """The bytes an entry's hash covers (``details`` already canonical JSON text)."""
    return PREFIX + _ENCODE([seq, iso(at), actor_id, action, case_id, details]).encode("ascii")


def entry_hash(prev_hash: bytes, canonical_bytes: bytes) -> bytes:
    """SHA-256 over the previous entry's hash and this entry's canonical form."""
    return hashlib.sha256(prev_hash + canonical_bytes).digest()


def chain_entry(head: Head, draft: Draft, at: dt.datetime) -> AuditEntry:
    """The entry that follows ``head`` (not added to any session)."""
    seq = head.seq + 1
    details = canonical_details(draft.details)
    digest = entry_hash(head.hash, canonical(seq, at, draft.actor_id, draft.action,
                                             draft.case_id, details))
    return AuditEntry(seq=seq, at=at, actor_id=draft.actor_id, action=draft.action,
                      case_id=draft.case_id, details=details, prev_hash=head.hash,
                      hash=digest)


def read_head(session: Session) -> Head:
    """The newest entry as the database holds it now."""
    row = session.execute(select(AuditEntry.seq, AuditEntry.hash)
                          .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return Head(0, GENESIS) if row is None else Head(row[0], bytes(row[1]))


def _lock_and_read_head(session: Session) -> Head:
    """The head, read once per transaction under the chain's lock and then kept."""
    transaction = session.get_transaction()
    kept = session.info.get(_HEAD_KEY)
    if kept is not None and kept[0] is transaction:
        head: Head = kept[1]
        return head
    if session.get_bind().dialect.name == "postgresql":
        # Held until this transaction ends: the next appender reads the head only after
        # our entries have committed (or rolled back).
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    return read_head(session)


def append(session: Session, drafts: Iterable[Draft],
           at: dt.datetime | None = None) -> list[AuditEntry]:
    """Chain ``drafts`` after the current head, in this transaction (not committed here)."""
    head = _lock_and_read_head(session)
    when = at or utcnow()
    added = []
    for draft in drafts:
        entry = chain_entry(head, draft, when)
        session.add(entry)
        added.append(entry)
        head = Head(entry.seq, entry.hash)
    session.info[_HEAD_KEY] = (session.get_transaction(), head)
    return added


def appended_head(session: Session) -> Head | None:
    """The head this transaction appended up to (None if it appended nothing)."""
    kept = session.info.get(_HEAD_KEY)
    if kept is None or kept[0] is not session.get_transaction():
        return None
    head: Head = kept[1]
    return head


def forget_appended(session: Session) -> None:
    """Drop what this session remembered of its transaction's appends."""
    session.info.pop(_HEAD_KEY, None)
