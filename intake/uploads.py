"""Uploads that never touch the disk in plaintext.

Werkzeug spools large multipart file parts to plaintext temporary files by default. Here
the stream factory returns a :class:`SealingSpool` instead: every byte of a file part is
encrypted as it arrives, into an envelope addressed to a key that exists only in this
request's memory. Once the form is valid and its readers are known, the envelope is
readdressed to them (the body is not touched) and the per-request key is dropped.
"""

from __future__ import annotations

from typing import IO, Any

from flask import Request, current_app
from flask_babel import lazy_gettext as _l

import crypto
from common.storage import EnvelopeStore

from .errors import RejectedUpload

STORE = "lykta.intake.store"


class SealingSpool:
    """A write-only file object that seals what is written into an envelope body."""

    def __init__(self, store: EnvelopeStore, key: crypto.PrivateKey, limit: int) -> None:
        self.store = store
        self.path, self._file = store.new_incoming()
        self._writer = crypto.EnvelopeWriter(self._file, [key.public_key],
                                             routing={"kind": "file"})
        self._limit = limit
        self.sealed: crypto.SealedEnvelope | None = None
        self.committed = False

    @property
    def size(self) -> int:
        """Plaintext bytes received so far."""
        return self._writer.plaintext_size

    def write(self, data: bytes) -> int:
        """Seal more of the upload; refuse it once it passes the per-file limit."""
        if self._writer.plaintext_size + len(data) > self._limit:
            raise RejectedUpload(_l("A file is larger than the limit. Nothing was saved."))
        return self._writer.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        """Werkzeug rewinds the container after a part; there is nothing to rewind."""
        return 0

    def read(self, *_args: Any) -> bytes:
        """Reading back is impossible by design: the plaintext is already gone."""
        raise OSError("a sealed upload cannot be read back")

    def finish(self) -> crypto.SealedEnvelope:
        """Close the envelope body; idempotent."""
        if self.sealed is None:
            self.sealed = self._writer.close()
            self._file.close()
        return self.sealed

    def discard(self) -> None:
        """Throw the spool away (form invalid, request failed)."""
        if not self._file.closed:
            self._file.close()
        self.store.discard(self.path)


class SealingRequest(Request):
    """Flask request whose file uploads go straight into sealed spools."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        spools: list[SealingSpool] = self.__dict__.setdefault("lykta_spools", [])
        limit = current_app.config["LYKTA_MAX_FILES"]
        if len(spools) >= limit + 1:  # +1: browsers send one empty part for "no file"
            raise RejectedUpload(_l("Too many files. Nothing was saved."))
        if "lykta_spool_key" not in self.__dict__:
            self.__dict__["lykta_spool_key"] = crypto.PrivateKey.generate()
        spool = SealingSpool(current_app.extensions[STORE], self.__dict__["lykta_spool_key"],
                             current_app.config["LYKTA_MAX_FILE_BYTES"])
        spools.append(spool)
        return spool  # type: ignore[return-value]

    @property
    def spool_key(self) -> crypto.PrivateKey | None:
        """The per-request key that uploads were sealed to, if any arrived."""
        key: crypto.PrivateKey | None = self.__dict__.get("lykta_spool_key")
        return key

    def discard_uncommitted_spools(self) -> None:
        """Delete every spool no domain function committed (called at teardown)."""
        for spool in self.__dict__.get("lykta_spools", []):
            if not spool.committed:
                spool.discard()


def spool_of(storage: Any) -> SealingSpool | None:
    """The spool behind a Werkzeug ``FileStorage`` (None if it is not one of ours)."""
    stream = getattr(storage, "stream", None)
    return stream if isinstance(stream, SealingSpool) else None

