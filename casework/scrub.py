"""Metadata-scrubbed copies of attachments, for reviewers to download.

``scrub(data, filename)`` takes the type from the content (magic bytes), never from the name
alone, and rebuilds the file without the metadata that most often identifies a source:
images (JPEG, PNG, GIF, WebP, TIFF) through Pillow keep only their pixels; PDFs through
pikepdf lose document info, XMP, file ID, embedded files, scripts, annotation authors and
signatures; .docx/.xlsx/.pptx through zipfile lose document properties, thumbnail and custom
XML. ``NOTES`` (keyed by the scrubbed file's extension) says in plain words what is and is not
removed. Not removed, notably: authors of Office comments and tracked changes (word/
comments.xml, people.xml, w:author in word/document.xml), revision IDs, file and template
paths stored inside Office files, metadata inside pictures embedded in PDF or Office files,
and anything the visible content gives away. Every other type raises ``CannotScrub``.

The parsing (``scrub_formats``, ``scrub_office``) never runs in the web process: attachments
are hostile input, and decompression bombs in all three families used to cost gigabytes
and minutes here. Each call starts a child (``scrub_worker``) that limits its own memory,
CPU time, files and processes before it reads the file, and is killed after
``Limits.wall_seconds``. The file goes in and out through pipes, so no plaintext is ever
written to disk. Whatever happens in the child, ``scrub`` raises only ``CannotScrub``,
with a reason for the reviewer, who can still download the original.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from .scrub_formats import EXTENSIONS, MESSAGE_LABELS, sniff
from .scrub_limits import MESSAGES, MIB, N_, PRODUCTION, CannotScrub, Limits

__all__ = ["NOTES", "PRODUCTION", "CannotScrub", "Limits", "run_worker", "scrub"]

log = logging.getLogger(__name__)

_IMAGE_NOTE = (
    "Removed: EXIF (including GPS position, camera make and serial number, owner), XMP, "
    "IPTC, colour profile, comments, text chunks and extra embedded images. Not removed: "
    "what the picture shows, and the camera sensor's noise pattern. JPEG and lossy WebP are "
    "re-encoded at high quality; colours may shift slightly without the colour profile."
)
_PDF_NOTE = (
    "Removed: document information (author, creator, producer, dates), XMP metadata, file "
    "ID, application data (PieceInfo), embedded files, annotation author names, JavaScript "
    "and automatic actions, signature values, earlier saved revisions. Not removed: the "
    "visible content, comment texts, form values, metadata inside embedded pictures."
)
_OFFICE_NOTE = (
    "Removed: document properties (author, last editor, company, manager, template, custom "
    "properties), thumbnail, custom XML parts, zip timestamps. Not removed: authors of "
    "comments and tracked changes, revision IDs, file paths and template paths stored in "
    "the document, printer settings, metadata inside embedded pictures and objects."
)
NOTES: dict[str, str] = {
    ext: _PDF_NOTE if kind == "PDF" else _OFFICE_NOTE if kind.endswith("X") else _IMAGE_NOTE
    for kind, exts in EXTENSIONS.items() for ext in exts
}

_TOO_BIG = N_("the file is too large to scrub (more than %(limit)s MiB)")
_TOO_SLOW = N_("scrubbing the file took too long (more than %(seconds)s seconds; it may be "
               "built to exhaust the server), so it was stopped")
_TOO_HUNGRY = N_("scrubbing the file needed more memory than allowed (%(limit)s MiB; it may "
                 "be built to exhaust the server), so it was stopped")
_CRASHED = N_("the scrubbing process stopped unexpectedly (the file may be damaged or built "
              "to attack it)")
_UNAVAILABLE = N_("the scrubber could not be started; try again later")

# The child imports casework.scrub_worker without running casework/__init__.py, which
# would load Flask, SQLAlchemy and the whole app (6 s and 50 MiB on the 2-core host) into
# a process that only needs Pillow and pikepdf: a stand-in package points at this folder.
_BOOT = ("import sys, types; package = types.ModuleType('casework'); "
         "package.__path__ = [sys.argv[1]]; sys.modules['casework'] = package; "
         "from casework.scrub_worker import main; sys.exit(main())")
_HERE = str(Path(__file__).resolve().parent)
# The child gets no secrets from our environment (database URL, keys' passphrases...):
# should a parser bug hand it to an attacker, there is less to take.
_ENV = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}


def scrub(data: bytes, filename: str, limits: Limits = PRODUCTION) -> tuple[bytes, str]:
    """Return (scrubbed bytes, new filename e.g. 'photo.scrubbed.jpg').

    The type comes from the content; the new name gets the extension that matches it.
    Raises CannotScrub, and nothing else, for anything not handled or that hit a limit;
    ``str()`` of it is the reason in the request's language.
    """
    try:
        reply, body = run_worker(data, filename, limits)
        if reply.get("ok") is True and isinstance(reply.get("name"), str):
            if len(body) > limits.max_output_bytes:
                raise CannotScrub(_TOO_BIG, limit=limits.max_output_bytes // MIB)
            return body, reply["name"]
        raise _refusal(reply, limits.for_kind(sniff(data)))
    except CannotScrub as exc:
        exc.text = _translated(exc)
        raise
    except Exception as exc:  # never a 500 on the download page: the original still works
        log.exception("scrubber failed")
        refusal = CannotScrub(_CRASHED)
        refusal.text = _translated(refusal)
        raise refusal from exc


def run_worker(data: bytes, filename: str, limits: Limits) -> tuple[dict[str, Any], bytes]:
    """Run one child; return its reply and body. Raises CannotScrub for limits hit."""
    if len(data) > limits.max_input_bytes:
        raise CannotScrub(_TOO_BIG, limit=limits.max_input_bytes // MIB)
    # Magic bytes only (startswith): choosing the memory limit parses nothing here.
    limits = limits.for_kind(sniff(data))
    # The name travels in the pipe too: command lines are visible to every local user.
    header = json.dumps({"limits": limits.to_json(), "filename": filename}).encode()
    try:
        done = subprocess.run(  # noqa: S603 - see the import
            [sys.executable, "-I", "-c", _BOOT, _HERE],
            input=len(header).to_bytes(4, "big") + header + data,
            capture_output=True, timeout=limits.wall_seconds, env=_ENV, cwd="/",
            check=False)
    except subprocess.TimeoutExpired as exc:  # run() has killed and reaped the child
        raise CannotScrub(_TOO_SLOW, seconds=f"{limits.wall_seconds:g}") from exc
    except OSError as exc:
        log.exception("could not start the scrubber")
        raise CannotScrub(_UNAVAILABLE) from exc
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):  # RLIMIT_CPU soft, hard
        raise CannotScrub(_TOO_SLOW, seconds=limits.cpu_seconds)
    reply, body = _parse_reply(done.stdout)
    # Out of memory inside qpdf (C++) ends in std::terminate, not in a MemoryError the
    # child could report; the child's stderr is only used to tell which it was.
    if reply is None and (b"std::bad_alloc" in done.stderr or b"MemoryError" in done.stderr):
        raise CannotScrub(_TOO_HUNGRY, limit=limits.memory_bytes // MIB)
    if done.returncode != 0 or reply is None:
        # The last line of a traceback names the exception; what follows the colon may
        # quote the file, so only the name is logged.
        last = done.stderr.strip().rsplit(b"\n", 1)[-1].split(b":", 1)[0][:80]
        log.warning("scrubber exited with %s (%s)", done.returncode,
                    last.decode("ascii", "replace"))
        raise CannotScrub(_CRASHED)
    return reply, body


def _parse_reply(raw: bytes) -> tuple[dict[str, Any] | None, bytes]:
    size = int.from_bytes(raw[:4], "big")
    try:
        reply = json.loads(raw[4 : 4 + size]) if 0 < size <= len(raw) - 4 else None
    except ValueError:
        reply = None
    return (reply if isinstance(reply, dict) else None), raw[4 + size :]


def _refusal(reply: dict[str, Any], limits: Limits) -> CannotScrub:
    if reply.get("limit") == "memory":
        return CannotScrub(_TOO_HUNGRY, limit=limits.memory_bytes // MIB)
    reason, params = reply.get("reason"), reply.get("params")
    # Only our own messages, and parameters as short plain values: the child has parsed a
    # hostile file, so what it says is not trusted to be ours.
    if reason not in MESSAGES or not isinstance(params, dict):
        return CannotScrub(_CRASHED)
    clean = {str(k): str(v)[:100] for k, v in params.items()}
    if any(clean.get(key, "") not in MESSAGE_LABELS for key in ("label", "what")
           if key in clean):
        return CannotScrub(_CRASHED)
    try:
        CannotScrub(reason, **clean).render()  # a missing %(name)s would fail on the page
    except (KeyError, TypeError, ValueError):
        return CannotScrub(_CRASHED)
    return CannotScrub(reason, **clean)


def _translated(exc: CannotScrub) -> str:
    """The reason in the current request's language (English outside a request)."""
    from flask import has_request_context
    from flask_babel import gettext

    return exc.render(gettext) if has_request_context() else exc.render()
