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

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind, StatusUpdate

from .case_view import refusal
from .models import Case
from .sealing import seal_item
from .services import Casework

MAX_REASON = 4_000


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
