"""Storing sealed envelopes: bodies in the store, headers in the database."""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import crypto
from common.storage import EnvelopeStore

from .models import StoredEnvelope
from .uploads import SealingSpool

MAX_FILENAME = 200


@dataclass(frozen=True)
class Upload:
    """A file part that arrived in a sealed spool, with what the browser said about it."""

    spool: SealingSpool
    filename: str
    content_type: str


def clean_filename(raw: str) -> str:
    """The name to show reviewers: no directories, no control characters, bounded.

    The name is never used as a path (bodies are stored under random ids); cleaning it
    only keeps the display honest and defuses names like ``../../etc/passwd``.
    """
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    name = name.lstrip(".") or "file"
    return name[:MAX_FILENAME]


class PendingEnvelopes:
    """Envelopes written for one request, kept only if the whole request succeeds."""

    def __init__(self, store: EnvelopeStore) -> None:
        self._store = store
        self._incoming: list[tuple[Path, str]] = []
        self._committed: list[str] = []

    def seal_json(self, session: Session, *, receipt_id: str, audience: str, kind: str,
                  payload: dict[str, Any], recipients: Sequence[crypto.PublicKey],
                  routing: dict[str, str] | None = None) -> str:
        """Seal a JSON document to ``recipients`` and record it; return the envelope id."""
        path, file = self._store.new_incoming()
        with file:
            sealed = crypto.seal_stream(
                io.BytesIO(json.dumps(payload, ensure_ascii=False).encode("utf-8")),
                file, recipients, routing={"kind": kind, **(routing or {})},
            )
        return self._record(session, path, sealed.envelope_id, sealed.header,
                            sealed.body_size, receipt_id, audience, kind)

    def adopt_upload(self, session: Session, *, receipt_id: str, upload: Upload,
                     spool_key: crypto.PrivateKey,
                     recipients: Sequence[crypto.PublicKey]) -> str:
        """Readdress a sealed upload from the request key to its readers and record it."""
        sealed = upload.spool.finish()
        header = crypto.readdress(sealed.header, spool_key, recipients)
        upload.spool.committed = True  # from here on, commit_all/rollback own the file
        return self._record(session, upload.spool.path, sealed.envelope_id, header,
                            sealed.body_size, receipt_id, "casework", "file")

    def adopt_uploads(self, session: Session, *, receipt_id: str, uploads: Sequence[Upload],
                      spool_key: crypto.PrivateKey | None,
                      recipients: Sequence[crypto.PublicKey]) -> list[dict[str, Any]]:
        """Adopt every upload of a request; return what the report lists about each."""
        if uploads and spool_key is None:
            raise ValueError("uploads arrived without the request's spool key")
        listed = []
        for upload in uploads:
            assert spool_key is not None  # noqa: S101 (checked above; narrows the type)
            envelope_id = self.adopt_upload(session, receipt_id=receipt_id, upload=upload,
                                            spool_key=spool_key, recipients=recipients)
            listed.append({"envelope_id": envelope_id,
                           "filename": clean_filename(upload.filename),
                           "content_type": upload.content_type[:100],
                           "size": upload.spool.size})
        return listed

    def store_sealed(self, session: Session, *, receipt_id: str, audience: str, kind: str,
                     envelope_id: str, header: bytes, body: bytes) -> str:
        """Record an envelope sealed elsewhere (by casework) and write its body.

        Only the envelope's public framing is checked (its id in header and body): intake
        cannot and need not open it.
        """
        body_id = crypto.read_body_preamble(io.BytesIO(body)).envelope_id.hex()
        if crypto.header_envelope_id(header).hex() != envelope_id or body_id != envelope_id:
            raise crypto.TamperedEnvelope("envelope parts do not belong together")
        path, file = self._store.new_incoming()
        with file:
            file.write(body)
        return self._record(session, path, bytes.fromhex(envelope_id), header, len(body),
                            receipt_id, audience, kind)

    def _record(self, session: Session, path: Path, envelope_id: bytes, header: bytes,
                body_size: int, receipt_id: str, audience: str, kind: str) -> str:
        hex_id = envelope_id.hex()
        self._incoming.append((path, hex_id))
        session.add(StoredEnvelope(id=hex_id, receipt_id=receipt_id, audience=audience,
                                   kind=kind, header=header, body_size=body_size))
        return hex_id

    def commit_all(self) -> None:
        """Move every body into place (call before the database commit)."""
        for path, hex_id in self._incoming:
            self._store.commit(path, hex_id)
            self._committed.append(hex_id)

    def rollback(self) -> None:
        """Remove everything this request wrote (the database commit failed)."""
        for path, _hex_id in self._incoming:
            self._store.discard(path)
        for hex_id in self._committed:
            self._store.delete(hex_id)


def readers_with_escrow(readers: Iterable[crypto.PublicKey],
                        escrow: crypto.PublicKey) -> list[crypto.PublicKey]:
    """Every envelope for casework is also sealed to the offline escrow key."""
    return [*readers, escrow]
