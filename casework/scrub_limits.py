"""Limits for the metadata scrubber, and the refusal it raises.

Shared by the web process (``casework.scrub``) and the child that parses the hostile bytes
(``casework.scrub_worker``). The child loads this module without running
``casework/__init__`` (see ``casework.scrub``), so it imports nothing from the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

MIB = 1024 * 1024


# Every message, registered when its module is imported. The web process accepts only
# these from the child: a child taken over by a hostile file could otherwise put any text
# of its choosing in front of the reviewer. So messages are module-level constants.
MESSAGES: set[str] = set()


def N_(message: str) -> str:  # noqa: N802 - the name Babel extracts (DEFAULT_KEYWORDS)
    """Mark a message for translation; it is translated where it is shown (casework.scrub),
    because the child that raises it has no Flask, no locale and no catalogues."""
    MESSAGES.add(message)
    return message


OFFLINE = N_("download the original and handle it offline")
# Parameters that are themselves messages (e.g. "a JPEG image") and are translated too.
_MESSAGE_PARAMS = frozenset({"label", "what"})


class CannotScrub(Exception):
    """A refusal with a reason for the reviewer: ``str(exc)`` is it in English.

    ``reason`` is a message (marked with N_) with %(name)s placeholders filled from
    ``params``; "; download the original and handle it offline" is appended.
    """

    def __init__(self, reason: str, **params: str | int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params
        self.text: str | None = None  # set by casework.scrub to the translated text

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        values = {key: gettext(str(value)) if key in _MESSAGE_PARAMS and value else value
                  for key, value in self.params.items()}
        return f"{gettext(self.reason) % values}; {gettext(OFFLINE)}"

    def __str__(self) -> str:
        return self.text if self.text is not None else self.render()


@dataclass(frozen=True)
class Limits:
    """What one scrub may cost. The defaults are production's, sized for a 2-core host
    with a few reviewers at once; the tests pass much lower ones to stay fast.

    Memory: Pillow keeps 4 bytes per pixel, and a picture is held twice (decoded and the
    clean copy), so a 24-megapixel photo needs about 200 MiB on top of ~60 MiB of
    interpreter and libraries (243 MiB peak RSS, bench/results/scrub.md):
    ``memory_bytes`` leaves room for that and little more, and ``max_pixels`` refuses
    pictures that could not fit before decoding them.
    """

    memory_bytes: int = 320 * MIB  # RLIMIT_AS of the child for pictures: address space
    # ... and for everything else: PDFs and Office files never hold decoded pixels, and
    # the objects of a PDF (or a zip's directory) can only be bounded by memory.
    document_memory_bytes: int = 256 * MIB
    cpu_seconds: int = 10  # RLIMIT_CPU of the child (SIGXCPU, then SIGKILL a second later)
    wall_seconds: float = 20.0  # the parent kills the child after this, busy or not
    max_input_bytes: int = 64 * MIB  # intake accepts 50 MiB per file
    max_output_bytes: int = 128 * MIB
    # Images: all frames together; Pillow's own limit is set to the same number.
    max_pixels: int = 30_000_000
    max_frames: int = 1000
    # Office (zip): entries, inflated bytes in all and per entry (declared and counted
    # while inflating), inflated/compressed ratio of an entry past 1 MiB, and the size of
    # the package XML we parse (content types, relationships; a few KiB in real files).
    max_zip_entries: int = 5000
    max_unpacked_bytes: int = 100 * MIB
    max_entry_bytes: int = 100 * MIB
    max_ratio: int = 200
    max_xml_bytes: int = 4 * MIB
    # PDF: objects in the cross-reference table, and what the object streams (the only
    # streams we decode: qpdf needs the objects inside them) may inflate to.
    max_pdf_objects: int = 250_000
    max_object_stream_bytes: int = 32 * MIB
    max_object_streams_total: int = 128 * MIB

    def for_kind(self, kind: str | None) -> Limits:
        """These limits, with the memory limit that applies to a file of this type."""
        if kind in ("JPEG", "PNG", "GIF", "WEBP", "TIFF"):
            return self
        return replace(self, memory_bytes=min(self.memory_bytes, self.document_memory_bytes))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Limits:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in raw.items() if key in names})


PRODUCTION = Limits()
