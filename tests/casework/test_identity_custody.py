"""A confidential reporter's identity stays sealed to the custodians through the import.

Imported follow-ups are trimmed to the report's readers (casework.readers); the identity
never is: its recipients are the custodians (and the escrow key), who are never readers.
"""

from __future__ import annotations

from sqlalchemy import select

import crypto
from casework.models import CaseEnvelope, User

from .conftest import services
from .handling_support import report
from .linked import Linked


def test_the_custodian_opens_the_identity_after_the_import(linked: Linked) -> None:
    case_id = report(linked, identity="confidential", name="Karin Berg",
                     contact="karin@example.org")
    with services(linked.casework).db.session() as db:
        identity = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "identity")).one()
        custodian = db.scalars(select(User).where(User.username == "cecilia")).one()
        reviewer = db.scalars(select(User).where(User.username == "anna")).one()
        assert custodian.public_key is not None and reviewer.public_key is not None
        holders = set(crypto.header_key_ids(identity.header))
    assert crypto.key_id_of(custodian.public_key) in holders
    assert crypto.key_id_of(reviewer.public_key) not in holders  # readers never hold it
    assert crypto.key_id_of(linked.escrow.public_key.raw) in holders
