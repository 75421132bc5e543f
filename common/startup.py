"""One process at a time through start-up work (migrations, first records).

gunicorn starts several workers at once; without this, two of them migrate the same
fresh database together and one fails ("table already exists"). A file lock in the
instance folder serialises them on one host; on several hosts, run the migrations once
before starting the workers (`flask --app intake ...` does the same work under the lock).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(instance_path: Path, name: str) -> Iterator[None]:
    """Hold ``instance_path/.{name}.lock`` exclusively for the duration."""
    instance_path.mkdir(parents=True, exist_ok=True)
    fd = os.open(instance_path / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
