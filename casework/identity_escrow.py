"""Opening a confidential reporter's identity with the escrow key (recovery, audited).

The escrow key is offline (wrapped under a passphrase, its custody split among KOF's
custodians) and sealed into both layers of every identity (crypto/FORMAT.md, "Custody"):
it is the one way to an identity when no custodian can release it (the custodians left,
or a reader's key was recovered and is not in the inner layer). Bringing it online is
itself the second pair of eyes, so this needs no custodian; it is recorded instead
(:class:`IdentityRecoveredFromEscrow`, in the audit log), and the caller shows the
identity only once that record has committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.unit_of_work import emit_on

from .case_view import MAX_SHOWN_BYTES
from .errors import CaseworkError
from .events import IdentityRecoveredFromEscrow
from .models import Case, CaseEnvelope
from .services import Casework


class EscrowRefused(CaseworkError):
    """The identity cannot be opened with this escrow key; ``reason`` says why (no content)."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.explanation = reason  # the command line's message (English, no content)


@dataclass(frozen=True)
class RecoveredIdentity:
    """What the reporter gave: shown once to whoever brought the escrow key online."""

    case_id: str
    name: str
    contact: str


def recover_identity(casework: Casework, session: Session, reference: str,
                     escrow: crypto.PrivateKey) -> RecoveredIdentity:
    """Open the identity of the case ``reference`` with ``escrow``; emit the audit event.

    Raises :class:`EscrowRefused` (nothing recorded) for an unknown reference, a case with
    no identity (anonymous, or purged), a key the identity was not sealed to, or an
    envelope that does not authenticate.
    """
    case = session.scalar(select(Case).where(Case.reference == reference.strip().upper()))
    if case is None:
        raise EscrowRefused("no case has that reference")
    envelope = session.scalar(select(CaseEnvelope).where(
        CaseEnvelope.case_id == case.id, CaseEnvelope.kind == EnvelopeKind.IDENTITY))
    if envelope is None or case.purged_on is not None:
        raise EscrowRefused("the case holds no identity (anonymous, or purged)")
    if envelope.body_size > MAX_SHOWN_BYTES:
        raise EscrowRefused("the sealed identity is larger than any identity intake seals")
    try:
        with casework.store.open(envelope.body_name) as body:
            sealed = crypto.Envelope(envelope.header, body.read())
    except FileNotFoundError as exc:
        raise EscrowRefused("the identity's body is missing from the store") from exc
    try:
        plaintext = crypto.open_in_custody(sealed, escrow)
    except crypto.UnknownRecipient as exc:
        raise EscrowRefused("the identity is not sealed to this escrow key") from exc
    except crypto.CryptoError as exc:
        raise EscrowRefused("the identity does not authenticate (tampered)") from exc
    try:
        payload = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EscrowRefused("the identity is not the document intake seals") from exc
    if not isinstance(payload, dict):
        raise EscrowRefused("the identity is not the document intake seals")
    emit_on(session, IdentityRecoveredFromEscrow(case.id))
    return RecoveredIdentity(case.id, str(payload.get("name", "")),
                             str(payload.get("contact", "")))
