"""Key recovery: after a reviewer lost their key, give the new one back their cases.

The offline escrow key opens each envelope's content key and the person's new key is
added as a recipient (bodies untouched). Only the cases the person already read are
given back: ``case_readers`` keeps its row when a key is rotated, so "cases of their
units" is never used, and a case whose tipster excluded them stays closed to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.unit_of_work import emit_on

from .accounts import key_awaits_approval
from .errors import InvalidInput
from .events import CasesReaddressed
from .models import Case, User
from .models.cases import CaseReader
from .readers import ReadersTampered, check_tag, report_envelope, retag

log = logging.getLogger("lykta.casework.recovery")


@dataclass(frozen=True)
class Recovered:
    """What a recovery changed: envelopes readdressed, cases refused as tampered."""

    envelopes: int
    refused: int


def readdress_cases_to(session: Session, username: str, escrow: crypto.PrivateKey) -> Recovered:
    """Add the person's current key to every envelope of the cases they are a reader of.

    Refused for a key awaiting a second administrator's approval: escrow must not open
    old cases to a key that one administrator alone may have made. A case whose reader
    list fails its tag is left alone and counted (the database was changed outside
    casework; escrow must not bless that list by re-tagging it).
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.public_key is None:
        raise InvalidInput(f"{username!r} has no key to readdress to")
    if key_awaits_approval(user):
        raise InvalidInput(f"the key of {username!r} awaits approval (keys approve)")
    new_key = crypto.PublicKey(user.public_key)
    read = select(CaseReader.case_id).where(CaseReader.user_id == user.id)
    envelopes = refused = 0
    for case in session.scalars(select(Case).where(Case.id.in_(read))):
        report = report_envelope(case)
        if report is None:
            continue
        try:
            content_key = crypto.open_content_key(report.header, escrow)
        except crypto.DecryptionError:
            continue  # the report is not sealed to escrow: nothing escrow can give
        if case.readers_tag is not None:
            try:
                check_tag(case, content_key)
            except ReadersTampered:
                refused += 1
                continue
        for envelope in case.envelopes:
            if envelope.kind == EnvelopeKind.IDENTITY:
                # Left alone: the identity is in custody (crypto/FORMAT.md). Adding the
                # new key to its outer header would be a custodian's release without a
                # custodian; its inner layer lies inside the outer body and changes only
                # if both layers are sealed anew. A reader whose key was recovered reads
                # an identity only through `identity escrow-open` (audited).
                continue
            try:
                key = crypto.open_content_key(envelope.header, escrow)
            except crypto.DecryptionError:
                continue  # not sealed to escrow (e.g. the tipster-only copy)
            updated = crypto.add_recipient(envelope.header, key, new_key)
            if updated != envelope.header:
                envelope.header = updated
                envelopes += 1
        # Escrow holds the report's content key, as an assigning lead does: the list with
        # the recovered key is tagged anew, so the next note is not refused as tampered.
        retag(case, content_key)
    emit_on(session, CasesReaddressed(user.id, envelopes, refused))
    return Recovered(envelopes, refused)
