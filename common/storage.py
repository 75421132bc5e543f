"""Envelope bodies on disk: one file per envelope, named by its random id (both apps).

Bodies are ciphertext only. New bodies are written under ``incoming/`` with a random
name and moved into place only once complete, so a crash never leaves a half-written
body under a real envelope id; leftovers in ``incoming/`` are removed at start-up.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import BinaryIO

_ID = re.compile(r"^[0-9a-f]{32}$")


class EnvelopeStore:
    """The storage folder of one intake instance."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming_dir = root / "incoming"
        self.incoming_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, envelope_id: str) -> Path:
        # Ids come from our own database, but a strict check keeps any path trick out.
        if not _ID.match(envelope_id):
            raise ValueError("invalid envelope id")
        return self.root / envelope_id

    def new_incoming(self) -> tuple[Path, BinaryIO]:
        """Open a fresh file for a body being written (owner-only permissions)."""
        path = self.incoming_dir / secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return path, os.fdopen(fd, "wb")

    def commit(self, incoming: Path, envelope_id: str) -> None:
        """Move a complete body into place under its envelope id."""
        os.replace(incoming, self._path(envelope_id))

    def open(self, envelope_id: str) -> BinaryIO:
        """Open a stored body for reading."""
        return self._path(envelope_id).open("rb")

    def delete(self, envelope_id: str) -> None:
        """Remove a body (missing is fine: deleting is idempotent)."""
        self._path(envelope_id).unlink(missing_ok=True)

    def discard(self, incoming: Path) -> None:
        """Remove an incoming body that will not be kept."""
        incoming.unlink(missing_ok=True)

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
