"""What a workflow action seals: the reader's reason, and the status the tipster is told.

A reason has two parts. Its code is a column of the action's row (statistics count it);
its free text is content, so it is sealed here, to the case's readers only (kind
``reason``: it never leaves casework), and the row keeps the envelope id. The tipster
learns of a stage change from a :class:`common.contract.StatusUpdate`: codes that intake
renders in plain language in the tipster's own language, never a reviewer's words.

Both take the reader list the caller verified against its tag with the report's content
key (``casework.readers.reader_keys``): sealing to an unverified header would hand a new
item to a key someone wrote into the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind, StatusUpdate

from .case_view import refusal
from .models import Case, CaseEnvelope
from .sealing import open_document, seal_item
from .services import Casework

MAX_REASON = 4_000
# A reason's sealed body is far below this (4,000 characters as JSON, padded); anything
# larger was not sealed by seal_reason and is not decrypted for the timeline.
MAX_REASON_BODY = 64 * 1024


def seal_reason(casework: Casework, session: Session, case: Case, *, author_id: str,
                readers: Sequence[crypto.PublicKey], text: str) -> str | None:
    """Seal a reason's free text to ``readers``; None when there is no text.

    Raises a 400 refusal (nothing sealed) for text longer than :data:`MAX_REASON`.
    """
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_REASON:
        raise refusal(_l("a reason needs at most %(max)s characters", max=MAX_REASON))
    return seal_item(casework, session, case, kind=EnvelopeKind.REASON,
                     document={"text": text}, recipients=readers, author_id=author_id,
                     for_tipster=False)


def tell_tipster(casework: Casework, session: Session, case: Case, *,
                 readers: Sequence[crypto.PublicKey], update: StatusUpdate) -> str:
    """Seal ``update`` to the tipster key and the case's readers; it waits for a push."""
    recipients = [crypto.PublicKey(case.tipster_public_key), *readers]
    return seal_item(casework, session, case, kind=EnvelopeKind.STATUS,
                     document=update.to_json(), recipients=recipients, author_id=None,
                     for_tipster=True)


def reason_document(casework: Casework, envelope: CaseEnvelope,
                    key: crypto.PrivateKey | None) -> dict[str, Any] | None:
    """The sealed document of a ``reason`` envelope, if ``key`` opens it; else None."""
    if key is None or envelope.kind != EnvelopeKind.REASON.value:
        return None
    return open_document(casework, envelope, key, MAX_REASON_BODY)


def read_reason(casework: Casework, envelope: CaseEnvelope,
                key: crypto.PrivateKey | None) -> str | None:
    """The free text of a ``reason`` envelope, for a reader whose key opens it; else None.

    For the timeline (reasons are never dialogue or notes). None, not an error, for a
    reader sealed out of it (a reason sealed before they joined), a body too large for
    any reason, or a payload that is not a reason: the timeline then shows the code only.
    """
    document = reason_document(casework, envelope, key)
    text = document.get("text") if document is not None else None
    return text if isinstance(text, str) else None
