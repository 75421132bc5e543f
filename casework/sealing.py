"""Sealing a new item of a case: the one place casework writes an envelope.

Replies, status updates, notes and the automatic acknowledgement all pass through
:func:`seal_item`, so every new envelope gets the same treatment: the time it was sent
inside the sealed payload only, the body written to ``incoming/`` and moved into place
inside the transaction (removed again if it rolls back), and a row that says whether it
waits to be pushed to the tipster.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.storage import commit_in_transaction

from .models import Case, CaseEnvelope
from .services import Casework


def seal_item(casework: Casework, session: Session, case: Case, *, kind: EnvelopeKind,
              document: Mapping[str, object], recipients: Sequence[crypto.PublicKey],
              author_id: str | None, for_tipster: bool) -> str:
    """Seal ``document`` to ``recipients`` as a new item of ``case``; return its id.

    ``for_tipster`` items (replies, status updates) wait with ``delivered=False`` until the
    bridge has pushed them to intake; the others (notes) never leave casework.
    """
    payload = {**document,
               "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")}
    incoming, file = casework.store.new_incoming()
    with file:
        sealed = crypto.seal_stream(io.BytesIO(json.dumps(payload).encode()), file,
                                    list(recipients), routing={"kind": kind.value})
    envelope_id = sealed.envelope_id.hex()
    session.add(CaseEnvelope(id=envelope_id, case_id=case.id, kind=kind.value,
                             header=sealed.header, body_size=sealed.body_size,
                             author_id=author_id, origin="casework",
                             delivered=not for_tipster))
    commit_in_transaction(session, casework.store, incoming, envelope_id)
    return envelope_id


def open_document(casework: Casework, envelope: CaseEnvelope, key: crypto.PrivateKey,
                  max_bytes: int) -> dict[str, Any] | None:
    """The sealed JSON object of a small item, or None: not sealed to ``key``, larger than
    ``max_bytes`` (checked before a byte is read), damaged, or not an object.

    For the small documents casework itself sealed (reasons, minutes, answers), where a
    reader sealed out of one sees it left out rather than an error.
    """
    if envelope.body_size > max_bytes:
        return None
    try:
        content_key = crypto.open_content_key(envelope.header, key)
        out = io.BytesIO()
        with casework.store.open(envelope.body_name) as body:
            crypto.decrypt_body(body, out, content_key)
        payload = json.loads(out.getvalue())
    except (crypto.CryptoError, ValueError, OSError):
        return None
    return payload if isinstance(payload, dict) else None
