"""Commands casework queues for intake: register an oral report's receipt, forget a
dialogue whose case was purged.

Each is a row (:class:`~casework.models.IntakeCommand`) written in the unit of work of the
action that needs it, so the command exists exactly when the action committed; the bridge
delivers waiting commands at the next cycle (at least once: intake applies each
idempotently) and stamps ``delivered_at``. The payload is the command's wire form (see
``common.contract``): ids, a lookup token and public keys, never a receipt code, never
content.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

import crypto

from ..models import Case, IntakeCommand, IntakeCommandKind


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _queue(session: Session, kind: IntakeCommandKind, case: Case,
           payload: Mapping[str, Any]) -> IntakeCommand:
    command = IntakeCommand(kind=kind.value, case_id=case.id,
                            payload=json.dumps(dict(payload), sort_keys=True,
                                               separators=(",", ":")))
    session.add(command)
    return command


def register_receipt(session: Session, case: Case, *, lookup_token: bytes,
                     params: crypto.Argon2Params,
                     recipient_key_ids: Sequence[bytes]) -> IntakeCommand:
    """Queue the registration of ``case``'s receipt at intake (an oral report).

    Intake stores it as it stores a receipt of its own: the lookup token the code derives
    to (under ``params``), the tipster's public key, the unit, and the key ids a follow-up
    is sealed to; the reporter then signs in at intake like anyone else.
    """
    return _queue(session, IntakeCommandKind.REGISTER_RECEIPT, case, {
        "receipt_id": case.intake_receipt_id, "lookup_token": _b64(lookup_token),
        "tipster_public_key": _b64(case.tipster_public_key), "kdf": params.to_dict(),
        "unit_id": case.unit_id,
        "recipient_key_ids": [key_id.hex() for key_id in recipient_key_ids]})


def forget_dialogue(session: Session, case: Case) -> IntakeCommand:
    """Queue the removal of ``case``'s dialogue at intake (retention: the case is purged)."""
    return _queue(session, IntakeCommandKind.FORGET_DIALOGUE, case,
                  {"receipt_id": case.intake_receipt_id})
