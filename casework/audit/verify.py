"""Checking the audit log: every hash, every link, every checkpoint, and the head file.

Entries and checkpoints are read in batches by seq (keyset), each batch in a short,
read-only transaction of its own when a :class:`~common.db.Database` is given (the command
line, the verify page's background run: casework/audit/verification.py), or in the
caller's session (tests): a chain of a million entries is checked without holding it in
memory, and without holding the database's write lock. The chain only grows, so the
bounds are fixed first (the newest entry and checkpoint then) and what is appended
meanwhile is left to the next run.

The report names the FIRST problem, by seq, in plain English: an entry altered, missing,
out of place or inserted; a checkpoint forged, signed by another key, or naming a head
the chain does not have; entries no checkpoint covers; a chain shorter than the head file
(truncated together with its checkpoints).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from common.db import Database

from ..models import AuditCheckpoint, AuditEntry
from . import chain, checkpoints
from .checkpoints import SignedHead

BATCH = 5000


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong: where (an entry's seq) and what, in plain English."""

    seq: int
    what: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.what}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a verification."""

    entries: int  # entries checked
    checkpoints: int  # checkpoints checked
    head: chain.Head  # the newest entry checked
    head_file: SignedHead | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        """True if nothing was found wrong."""
        return self.problem is None


Sessions = Callable[[], AbstractContextManager[Session]]
# Told (entries checked, entries to check) after every batch of entries.
Progress = Callable[[int, int], None]


def _rows(sessions: Sessions, statement: Callable[[int], Any], upto: int,
          batch: int) -> Iterator[Any]:
    """Rows of ``statement(after)`` by seq, up to ``upto``, ``batch`` at a time."""
    after = 0
    while after < upto:
        with sessions() as session:
            rows = session.execute(statement(after).limit(batch)).all()
        for row in rows:
            if row.seq > upto:
                return
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq


def verify(*, session: Session | None = None, sessions: Sessions | None = None,
           verify_key: crypto.VerifyKey, head_file: Path | None,
           batch: int = BATCH, progress: Progress | None = None) -> Verdict:
    """Check the chain, its checkpoints (signed by ``verify_key``) and the head file."""
    if sessions is None:
        if session is None:
            raise TypeError("give a session or a session factory")
        bound = session

        def sessions() -> AbstractContextManager[Session]:
            return nullcontext(bound)

    walk = _Walk(verify_key, head_file)
    # The head file before the bounds: a commit in between only makes the chain longer
    # than the file says, never shorter.
    problem = walk.read_head_file()
    if problem is not None:
        return walk.verdict(problem)
    # Both bounds in ONE statement: on PostgreSQL (read committed) each statement sees the
    # commits made before it began, so a checkpoint committed between two statements
    # could lie beyond the last entry read and be reported as deleted entries.
    with sessions() as first:
        bounds = first.execute(select(
            select(func.max(AuditEntry.seq)).scalar_subquery(),
            select(func.max(AuditCheckpoint.seq)).scalar_subquery())).one()
    last_entry, last_checkpoint = bounds[0] or 0, bounds[1] or 0
    return walk.run(sessions, last_entry, last_checkpoint, batch, progress)


class _Walk:
    """One pass over entries and checkpoints together, in seq order."""

    def __init__(self, verify_key: crypto.VerifyKey, head_file: Path | None) -> None:
        self.verify_key = verify_key
        self.key_id = checkpoints.key_id(verify_key)
        self.head_file_path = head_file
        self.head_file: SignedHead | None = None
        self.head = chain.Head(0, chain.GENESIS)
        self.entries = 0
        self.checked = 0

    def verdict(self, problem: Problem | None) -> Verdict:
        return Verdict(self.entries, self.checked, self.head, self.head_file, problem)

    def run(self, sessions: Sessions, last_entry: int, last_checkpoint: int,
            batch: int, progress: Progress | None = None) -> Verdict:
        marks = _rows(sessions, lambda after: select(
            AuditCheckpoint.seq, AuditCheckpoint.hash, AuditCheckpoint.signature,
            AuditCheckpoint.key_id).where(AuditCheckpoint.seq > after)
            .order_by(AuditCheckpoint.seq), last_checkpoint, batch)
        mark = next(marks, None)
        if mark is not None and mark.seq < 1:
            return self.verdict(Problem(mark.seq, "a checkpoint names an entry number "
                                        "below 1, which no chain has"))
        signed_seq = 0
        for row in _rows(sessions, lambda after: select(
                AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.action,
                AuditEntry.case_id, AuditEntry.details, AuditEntry.prev_hash,
                AuditEntry.hash).where(AuditEntry.seq > after).order_by(AuditEntry.seq),
                last_entry, batch):
            problem = self._entry(row)
            if problem is not None:
                return self.verdict(problem)
            while mark is not None and mark.seq <= row.seq:
                problem = self._checkpoint(mark, signed_seq)
                if problem is not None:
                    return self.verdict(problem)
                signed_seq = mark.seq
                mark = next(marks, None)
            if progress is not None and self.entries % batch == 0:
                progress(self.entries, last_entry)
        if mark is not None:
            return self.verdict(Problem(self.head.seq + 1, (
                f"missing: a signed checkpoint covers the chain up to entry {mark.seq}, "
                f"but the chain ends at entry {self.head.seq} (the newest entries were "
                "deleted)")))
        return self.verdict(self._ends(signed_seq))

    def read_head_file(self) -> Problem | None:
        if self.head_file_path is None:
            return None
        try:
            self.head_file = checkpoints.read_head_file(self.head_file_path)
        except (ValueError, OSError):
            return Problem(0, f"the head file {self.head_file_path} cannot be read; "
                              "compare the chain with the last published head")
        signed = self.head_file
        if signed is not None and not (
                signed.verify_key == self.verify_key.raw and checkpoints.signature_holds(
                    self.verify_key, signed.seq, signed.hash, signed.signature)):
            return Problem(signed.seq, f"the head file {self.head_file_path} is not "
                                       "signed by the audit signing key")
        return None

    def _entry(self, row: Any) -> Problem | None:
        expected = self.head.seq + 1
        if row.seq != expected:
            return Problem(expected, f"missing: the chain jumps from entry {self.head.seq} "
                                     f"to entry {row.seq}")
        if bytes(row.prev_hash) != self.head.hash:
            return Problem(row.seq, "out of place: it is not chained to the entry before "
                                    "it (an entry was removed, inserted or moved here)")
        digest = chain.entry_hash(self.head.hash, chain.canonical(
            row.seq, row.at, row.actor_id, row.action, row.case_id, row.details))
        if digest != bytes(row.hash):
            return Problem(row.seq, "altered: its contents do not match its hash")
        self.head = chain.Head(row.seq, digest)
        self.entries += 1
        if self.head_file is not None and row.seq == self.head_file.seq \
                and digest != self.head_file.hash:
            return Problem(row.seq, "differs from the head file: the chain was rewritten "
                                    "up to here")
        return None

    def _checkpoint(self, mark: Any, signed_seq: int) -> Problem | None:
        self.checked += 1
        if mark.key_id != self.key_id:
            return Problem(mark.seq, "its checkpoint was signed by another key "
                                     f"({mark.key_id[:16]}…), not the audit signing key")
        if not checkpoints.signature_holds(self.verify_key, mark.seq, bytes(mark.hash),
                                           bytes(mark.signature)):
            return Problem(mark.seq, "its checkpoint's signature is forged (it does not "
                                     "verify with the audit signing key)")
        if bytes(mark.hash) != self.head.hash:
            return Problem(mark.seq, "differs from what was signed: the checkpoint at this "
                                     f"entry does not match the chain, so an entry after "
                                     f"{signed_seq} (the last that matches) was changed and "
                                     "the chain rebuilt")
        return None

    def _ends(self, signed_seq: int) -> Problem | None:
        if self.head_file is not None and self.head_file.seq > self.head.seq:
            return Problem(self.head.seq + 1, (
                f"missing: the head file records entry {self.head_file.seq}, but the chain "
                f"ends at entry {self.head.seq} (entries and their checkpoints were "
                "deleted)"))
        if self.head.seq > signed_seq:
            return Problem(signed_seq + 1, (
                f"unsigned: no checkpoint covers entries {signed_seq + 1} to "
                f"{self.head.seq} (added outside the application, or the signing key "
                "was unavailable)"))
        return None


def verify_database(database: Database, verify_key: crypto.VerifyKey, head_file: Path | None,
                    batch: int = BATCH, progress: Progress | None = None) -> Verdict:
    """Verify with a short transaction per batch (the command line, the verify page's
    background run, benchmarks).

    Each batch is read in :meth:`Database.session`: a deferred transaction, which only
    reads and so never takes SQLite's write lock (unlike a unit of work, which takes it at
    BEGIN), and ends before the next batch: writers commit in between and during.
    """
    return verify(sessions=database.session, verify_key=verify_key, head_file=head_file,
                  batch=batch, progress=progress)
