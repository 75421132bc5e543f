"""Storing sealed envelopes: bodies in the store, headers in the database.

Every new envelope intake stores passes through :func:`place_envelope`: its body,
complete in ``incoming/``, is moved into place at once and its row added to the session;
if the transaction rolls back, the body is removed again
(:func:`common.storage.commit_in_transaction`), so there is never a row without its body
and a refused request leaves no body behind. :func:`seal_json`, :func:`adopt_uploads` and
:func:`store_sealed` are the three ways a body comes to be (sealed here, uploaded, or
sealed by casework); all three take the caller's session, normally the one of the
request's unit of work.
"""

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
from common.contract import Audience, EnvelopeKind
from common.storage import EnvelopeStore, commit_in_transaction

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


# --- The one way a new envelope is stored ----------------------------------------------

def place_envelope(session: Session, store: EnvelopeStore, incoming: Path, *,
                   envelope_id: str, header: bytes, body_size: int, receipt_id: str,
                   audience: str, kind: str) -> str:
    """Move a complete body into place and add its row; both go if ``session`` rolls back.

    If the row or the body cannot be placed, the incoming file is removed and nothing is
    recorded.
    """
    session.add(StoredEnvelope(id=envelope_id, receipt_id=receipt_id, audience=audience,
                               kind=kind, header=header, body_size=body_size))
    try:
        # The row first: an id that is already stored (two pushes of the same reply at
        # once, from two casework workers) fails here, before this body is moved over
        # the one the other row names; the rollback then removes nothing of theirs.
        session.flush()
        commit_in_transaction(session, store, incoming, envelope_id)
    except BaseException:
        store.discard(incoming)
        raise
    return envelope_id


def seal_json(session: Session, store: EnvelopeStore, *, receipt_id: str, audience: str,
              kind: str, payload: dict[str, Any], recipients: Sequence[crypto.PublicKey],
              routing: dict[str, str] | None = None, envelope_id: bytes | None = None) -> str:
    """Seal a JSON document to ``recipients`` and store it; return the envelope id.

    ``envelope_id``: a chosen id (e.g. derived, so that a second copy collides in the
    database instead of being stored twice); a random one by default.
    """
    incoming, sealed = _seal_json_body(store, kind, payload, recipients, routing,
                                       envelope_id)
    return place_envelope(session, store, incoming, envelope_id=sealed.envelope_id.hex(),
                          header=sealed.header, body_size=sealed.body_size,
                          receipt_id=receipt_id, audience=audience, kind=kind)


def seal_json_in_custody(session: Session, store: EnvelopeStore, *, receipt_id: str,
                         kind: str, payload: dict[str, Any],
                         readers: Sequence[crypto.PublicKey],
                         custodians: Sequence[crypto.PublicKey]) -> str:
    """Seal a JSON document in custody (``crypto.seal_in_custody``) for casework: inner
    layer to ``readers``, outer to ``custodians``; store it; return the envelope id.

    The document is small (a name and a contact), so it is sealed in memory.
    """
    envelope = crypto.seal_in_custody(
        json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        readers=readers, custodians=custodians, routing={"kind": kind})
    envelope_id = envelope.envelope_id.hex()
    return store_sealed(session, store, receipt_id=receipt_id, audience=Audience.CASEWORK,
                        kind=kind, envelope_id=envelope_id, header=envelope.header,
                        body=envelope.body)


def adopt_uploads(session: Session, store: EnvelopeStore, *, receipt_id: str,
                  uploads: Sequence[Upload], spool_key: crypto.PrivateKey | None,
                  recipients: Sequence[crypto.PublicKey]) -> list[dict[str, Any]]:
    """Readdress every upload of a request to its readers and store it.

    Returns what the report lists about each file.
    """
    if uploads and spool_key is None:
        raise ValueError("uploads arrived without the request's spool key")
    listed = []
    for upload in uploads:
        assert spool_key is not None  # noqa: S101 (checked above; narrows the type)
        sealed, header = _readdressed(upload, spool_key, recipients)
        envelope_id = place_envelope(session, store, upload.spool.path,
                                     envelope_id=sealed.envelope_id.hex(), header=header,
                                     body_size=sealed.body_size, receipt_id=receipt_id,
                                     audience=Audience.CASEWORK, kind=EnvelopeKind.FILE)
        upload.spool.committed = True  # moved into place: the session's outcome owns it
        listed.append(_listing(upload, envelope_id))
    return listed


def store_sealed(session: Session, store: EnvelopeStore, *, receipt_id: str, audience: str,
                 kind: str, envelope_id: str, header: bytes, body: bytes) -> str:
    """Store an envelope sealed elsewhere (by casework): check its framing, write its body.

    Only the envelope's public framing is checked (its id in header and body): intake
    cannot and need not open it. Raises :class:`crypto.TamperedEnvelope` if the parts do
    not belong together (nothing is written then).
    """
    incoming = _written_body(store, envelope_id, header, body)
    return place_envelope(session, store, incoming, envelope_id=envelope_id, header=header,
                          body_size=len(body), receipt_id=receipt_id, audience=audience,
                          kind=kind)


def _seal_json_body(store: EnvelopeStore, kind: str, payload: dict[str, Any],
                    recipients: Sequence[crypto.PublicKey],
                    routing: dict[str, str] | None,
                    envelope_id: bytes | None = None) -> tuple[Path, crypto.SealedEnvelope]:
    incoming, file = store.new_incoming()
    try:
        with file:
            sealed = crypto.seal_stream(
                io.BytesIO(json.dumps(payload, ensure_ascii=False).encode("utf-8")),
                file, recipients, routing={"kind": kind, **(routing or {})},
                envelope_id=envelope_id,
            )
    except BaseException:
        store.discard(incoming)
        raise
    return incoming, sealed


def _readdressed(upload: Upload, spool_key: crypto.PrivateKey,
                 recipients: Sequence[crypto.PublicKey]) -> tuple[crypto.SealedEnvelope,
                                                                  bytes]:
    sealed = upload.spool.finish()
    return sealed, crypto.readdress(sealed.header, spool_key, recipients)


def _listing(upload: Upload, envelope_id: str) -> dict[str, Any]:
    return {"envelope_id": envelope_id, "filename": clean_filename(upload.filename),
            "content_type": upload.content_type[:100], "size": upload.spool.size}


def _written_body(store: EnvelopeStore, envelope_id: str, header: bytes,
                  body: bytes) -> Path:
    body_id = crypto.read_body_preamble(io.BytesIO(body)).envelope_id.hex()
    if crypto.header_envelope_id(header).hex() != envelope_id or body_id != envelope_id:
        raise crypto.TamperedEnvelope("envelope parts do not belong together")
    incoming, file = store.new_incoming()
    try:
        with file:
            file.write(body)
    except BaseException:
        store.discard(incoming)
        raise
    return incoming


def readers_with_escrow(readers: Iterable[crypto.PublicKey],
                        escrow: crypto.PublicKey) -> list[crypto.PublicKey]:
    """Every envelope for casework is also sealed to the offline escrow key."""
    return [*readers, escrow]
