"""The scrubber's child process: confine itself, read one file from stdin, answer on stdout.

Started by ``casework.scrub`` (never by hand) with the interpreter's isolated mode and a
stand-in ``casework`` package, so only this module, ``scrub_limits``, ``scrub_formats``
and ``scrub_office`` are loaded. Everything is imported before the limits are set;
after that the child cannot grow past ``memory_bytes`` (MemoryError), run past
``cpu_seconds`` (SIGXCPU, then SIGKILL), write any file (RLIMIT_FSIZE 0: the plaintext
never reaches a disk, not even as a core dump), or start processes.

Protocol, both ways: a 4-byte big-endian length, that many bytes of JSON, then the body.
In: ``{"limits": {...}}`` and the file. Out: ``{"ok": true, "name": ...}`` and the
scrubbed file, or ``{"ok": false, "reason": ..., "params": {...}}`` or
``{"ok": false, "limit": "memory"}`` and no body. Plaintext goes through pipes only.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import warnings
from typing import IO, Any

from PIL import Image, PngImagePlugin

from casework.scrub_formats import clean
from casework.scrub_limits import MIB, CannotScrub, Limits

_MAX_HEADER = 64 * 1024


def confine(limits: Limits) -> None:
    """Set this process's limits; they cannot be raised again (soft and hard both set)."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    # SIGXCPU at the soft limit ends the process (its default action); the hard limit one
    # second later is SIGKILL, should SIGXCPU ever be caught or ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    # No files: writes fail with EFBIG instead of killing us (SIGXFSZ ignored), so neither
    # a library's temporary file nor a core dump can leave plaintext on disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # No new processes (or threads: none of the parsers uses any), should a parser bug
    # hand an attacker control: nothing to exec into. Root is exempt, so this is best
    # effort; the service does not run as root.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    # Pillow checks the header's size on open: an error for anything over our limit
    # (its default, 89 M pixels, warns and then decodes 1.4 GiB).
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    # Decompressed PNG text chunks are dropped anyway; don't let them fill memory first.
    PngImagePlugin.MAX_TEXT_MEMORY = 4 * MIB


def _read_header(stream: IO[bytes]) -> dict[str, Any]:
    size = int.from_bytes(stream.read(4), "big")
    if not 0 < size <= _MAX_HEADER:
        raise ValueError("bad header")
    header = json.loads(stream.read(size))
    if not isinstance(header, dict):
        raise ValueError("bad header")
    return header


def _answer(stream: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    header["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    raw = json.dumps(header).encode()
    stream.write(len(raw).to_bytes(4, "big") + raw)
    stream.write(body)
    stream.flush()


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    header = _read_header(stdin)  # the limits and the name: small, and from the parent
    limits = Limits.from_json(header.get("limits") or {})
    confine(limits)
    data = stdin.read(limits.max_input_bytes)  # the parent sends no more than that
    filename = str(header.get("filename") or "attachment")
    out_of_memory = False
    try:
        body, name = clean(data, filename, limits)
    except CannotScrub as exc:
        _answer(stdout, {"ok": False, "reason": exc.reason,
                         "params": {k: str(v) for k, v in exc.params.items()}})
        return 0
    except MemoryError:
        out_of_memory = True  # answered below, once the traceback has let go of the heap
    if out_of_memory:
        _answer(stdout, {"ok": False, "limit": "memory"})
        return 0
    del data
    _answer(stdout, {"ok": True, "name": name}, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
