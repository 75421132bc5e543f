"""One process at a time through start-up work (migrations, first records).

gunicorn starts several workers at once; without this, two of them migrate the same
fresh database together and one fails ("table already exists"). A file lock in the
instance folder serialises them on one host; on several hosts, run the migrations once
before starting the workers (`flask --app intake ...` does the same work under the lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from .settings import ConfigError

T = TypeVar("T")


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


def create_private_once(path: Path, make: Callable[[], bytes]) -> None:
    """Write ``make()`` to ``path`` (0600) unless the file exists: a key made at start-up.

    Several workers may start together: the bytes go to a private temporary file that is
    linked into place, which fails if another process won, so nobody ever reads a
    half-written key or overwrites one in use (that would lock everyone out of what it
    protects, or fork what it signs).
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(make())
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# gunicorn's code for "a worker failed to boot": its master stops instead of starting
# worker after worker into the same error. `flask --app ...` exits with it too.
BOOT_ERROR = 3


def configured(app: str, load: Callable[[], T]) -> T:
    """``load()`` (an app's configuration from its file and the LYKTA_* environment), or
    a clean stop: one message on standard error naming every problem, no traceback.

    A traceback would bury the message an operator needs under frames they do not, and
    in gunicorn each worker would print it again. The message names settings and
    variables, never their values (common.settings, common.environment).
    """
    try:
        return load()
    except ConfigError as exc:
        print(f"lykta {app}: cannot start, the configuration is not valid:\n{exc}",
              file=sys.stderr)
        raise SystemExit(BOOT_ERROR) from None
