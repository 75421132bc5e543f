"""Stream protocols and the small stream adapters the envelope code needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from .errors import CryptoError


class Readable(Protocol):
    """Anything with ``read(size) -> bytes``: files, sockets' makefile(), BytesIO."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes; ``b""`` at the end."""
        ...


class Writable(Protocol):
    """Anything with ``write(bytes)``."""

    def write(self, data: bytes, /) -> int:
        """Write ``data``."""
        ...


class SeekableReadable(Readable, Protocol):
    """A readable stream that can also be repositioned."""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move to ``offset``."""
        ...

    def tell(self) -> int:
        """Return the current position."""
        ...


def read_full(source: Readable, size: int) -> bytes:
    """Read exactly ``size`` bytes unless the stream ends first (short reads are retried)."""
    data = source.read(size)
    if len(data) > size:
        # A misbehaving stream would otherwise corrupt the chunk layout silently.
        raise CryptoError("source returned more bytes than requested")
    if len(data) == size or not data:
        return data
    parts = [data]
    have = len(data)
    while have < size:
        more = source.read(size - have)
        if not more:
            break
        if len(more) > size - have:
            raise CryptoError("source returned more bytes than requested")
        parts.append(more)
        have += len(more)
    return b"".join(parts)


class IteratorReader:
    """A readable stream over an iterator of byte strings (bounded: one piece at a time)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = b""
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes, pulling more pieces as needed."""
        want = size if size >= 0 else None
        while not self._done and (want is None or len(self._buffer) < want):
            try:
                piece = next(self._pieces)
            except StopIteration:
                self._done = True
                break
            self._buffer = self._buffer + piece if self._buffer else piece
        if want is None or want >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:want], self._buffer[want:]
        return data

    def drain(self) -> None:
        """Consume everything left (so that a verifying iterator reaches its end)."""
        while self.read(1 << 16):
            pass
