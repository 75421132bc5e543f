"""Who can read a case: the people whose keys the case's envelopes are sealed to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto

from .config import CaseworkConfig
from .models import Case, User


def case_readers(session: Session, case: Case) -> list[User]:
    """Current readers: the users whose key ids are in the report's recipient header."""
    report = next((e for e in case.envelopes if e.kind == "report"), None)
    if report is None:
        return []
    ids = set(crypto.header_key_ids(report.header))
    people = session.scalars(select(User).where(User.public_key.is_not(None)))
    return [p for p in people if p.public_key and crypto.key_id_of(p.public_key) in ids]


def reader_keys(session: Session, config: CaseworkConfig, case: Case) -> list[crypto.PublicKey]:
    """Public keys to seal a new note or reply of ``case`` to: readers plus escrow."""
    keys = [crypto.PublicKey(p.public_key) for p in case_readers(session, case)
            if p.public_key is not None]
    if config.escrow_public_key is not None:
        keys.append(crypto.PublicKey(config.escrow_public_key))
    return keys
