"""Bounding Argon2 work: at most N derivations at once, the rest are told to come back.

The bound is per worker process: the box-wide bound is workers x N (ops/ runs one
gunicorn worker per core with N = 1).

Each derivation costs 128 MiB and about half a second of a core. Without a bound, a
flood of sign-in attempts would exhaust memory; Tor hides client addresses, so there is
no per-IP limit to lean on. A request waits briefly for a slot, then gets a "busy" page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import Busy


class Argon2Gate:
    """A counting gate for Argon2 derivations in one process."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._wait = wait_seconds

    @contextmanager
    def slot(self, wait_seconds: float | None = None) -> Iterator[None]:
        """Hold one derivation slot, or raise :class:`Busy` if none frees up in time."""
        if not self._slots.acquire(timeout=self._wait if wait_seconds is None
                                   else wait_seconds):
            raise Busy()
        try:
            yield
        finally:
            self._slots.release()
