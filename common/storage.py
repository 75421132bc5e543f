"""Envelope bodies on disk: one file per envelope, named by its random id (both apps).

Bodies are ciphertext only. New bodies are written under ``incoming/`` with a random
name and moved into place only once complete, so a crash never leaves a half-written
body under a real envelope id; leftovers in ``incoming/`` are removed at start-up.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session

# fullmatch, never match with "$": "$" also matches before a trailing newline, so
# "<32 hex>\n" would pass and name a different file than the id says.
_ID = re.compile(r"[0-9a-f]{32}")


def is_envelope_id(value: object) -> bool:
    """True only for exactly 32 lowercase hex characters (an envelope or receipt id)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's) data and metadata to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EnvelopeStore:
    """The storage folder of one intake instance."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming_dir = root / "incoming"
        self.incoming_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, envelope_id: str) -> Path:
        # Ids come from our own database, but a strict check keeps any path trick out.
        if not is_envelope_id(envelope_id):
            raise ValueError("invalid envelope id")
        return self.root / envelope_id

    def new_incoming(self) -> tuple[Path, BinaryIO]:
        """Open a fresh file for a body being written (owner-only permissions)."""
        path = self.incoming_dir / secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return path, os.fdopen(fd, "wb")

    def commit(self, incoming: Path, envelope_id: str) -> None:
        """Move a complete body into place under its envelope id, on disk for good.

        The row that names the body commits right after this, and the database makes
        that commit durable (PostgreSQL fsyncs its log). Without our own fsyncs the body
        could still sit in the page cache: a power cut would then keep a row (and a
        receipt already shown) whose body is empty or gone. So the body's bytes, and then
        its name in the folder, reach the disk before the caller may commit.
        """
        _fsync(incoming)
        os.replace(incoming, self._path(envelope_id))
        _fsync(self.root)

    def open(self, envelope_id: str) -> BinaryIO:
        """Open a stored body for reading."""
        return self._path(envelope_id).open("rb")

    def delete(self, envelope_id: str) -> None:
        """Remove a body (missing is fine: deleting is idempotent)."""
        self._path(envelope_id).unlink(missing_ok=True)

    def discard(self, incoming: Path) -> None:
        """Remove an incoming body that will not be kept."""
        incoming.unlink(missing_ok=True)

    def sweep(self, known_ids: set[str], older_than_seconds: float = 3600) -> int:
        """Remove stored bodies that no database row names (left by a killed process)."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.root.iterdir():
            if path.is_file() and is_envelope_id(path.name) and path.name not in known_ids:
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink(missing_ok=True)
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def clean_incoming(self, older_than_seconds: float = 12 * 3600) -> int:
        """Remove bodies left half-written by a crash; return how many.

        Only files untouched for longer than any upload may take: another worker process
        may be writing the younger ones right now (a slow upload over Tor).
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        for leftover in self.incoming_dir.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


# --- Bodies moved into place inside a database transaction -----------------------------
#
# A body is moved into the store before its row is committed (never a row without a
# body). If the transaction then rolls back, the body would be left behind with no row:
# the hook below deletes it. A process killed mid-transaction runs no hook, so start-up
# also sweeps old bodies that no row names (EnvelopeStore.sweep).

_STAGED = "lykta_staged_bodies"


def commit_in_transaction(session: Session, store: EnvelopeStore, incoming: Path,
                          envelope_id: str) -> None:
    """Move a body into place now; remove it again if ``session`` rolls back."""
    store.commit(incoming, envelope_id)
    session.info.setdefault(_STAGED, []).append((store, envelope_id))


@event.listens_for(Session, "after_commit")
def _forget_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


@event.listens_for(Session, "after_rollback")
def _remove_staged(session: Session) -> None:
    for store, envelope_id in session.info.pop(_STAGED, []):
        store.delete(envelope_id)


# --- Bodies removed only once the transaction that replaces them has committed ----------
#
# A rekey (casework.conflicts) writes each envelope's new body under a new name and points
# the row at it. The old body must outlive the transaction: deleted before the commit, a
# rollback (or a crash) would leave a row whose body is gone. Deleted after it, a crash in
# between leaves only an unnamed old body, which EnvelopeStore.sweep removes at start-up.

_DOOMED = "lykta_bodies_to_delete"
_log = logging.getLogger("lykta.storage")


def delete_after_commit(session: Session, store: EnvelopeStore, names: Iterable[str]) -> None:
    """Delete the bodies ``names`` from ``store`` once ``session`` commits; keep them if it
    rolls back."""
    for name in names:
        if not is_envelope_id(name):
            raise ValueError("invalid envelope id")
        session.info.setdefault(_DOOMED, []).append((store, name))


@event.listens_for(Session, "after_commit")
def _delete_doomed(session: Session) -> None:
    for store, name in session.info.pop(_DOOMED, []):
        try:
            store.delete(name)
        except OSError as exc:
            # The commit stands; the unnamed body is swept at the next start-up. Only the
            # type: a path could name an envelope.
            _log.warning("an old body could not be deleted: %s", type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _keep_doomed(session: Session) -> None:
    session.info.pop(_DOOMED, None)
