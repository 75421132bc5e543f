"""A confidential reporter's identity under four eyes, proven on the data alone.

Someone holding a reader's private key (the would-be requester's) and a copy of the whole
casework database and envelope store tries every envelope of every kind, with every way
crypto offers to open one: the identity opens for nobody but escrow until the custodian
releases it, and then for the requester alone. The custodian's key alone opens the outer
layer, never the inner one. The import keeps the identity as intake sealed it.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import crypto
from casework.assignment import assign, unassign
from casework.models import CaseEnvelope, Membership, User
from tests.support.databases import stored_bytes

from .conftest import services
from .handling_support import call, report, user_id
from .linked import Linked

NAME, CONTACT = "Karin Berg", "karin@example.org"


@dataclass(frozen=True)
class Copy:
    """A copy of casework's database and store, as a thief would hold them (on PostgreSQL
    the live database stands in for a dump of it: nothing writes while the test reads)."""

    database_url: str
    store: Path

    @contextmanager
    def envelopes(self) -> Iterator[list[tuple[CaseEnvelope, crypto.Envelope]]]:
        engine = create_engine(self.database_url)
        try:
            with Session(engine) as db:
                rows = list(db.scalars(select(CaseEnvelope)))
                yield [(row, crypto.Envelope(row.header,
                                             (self.store / row.body_name).read_bytes()))
                       for row in rows]
        finally:
            engine.dispose()


def copy_of(linked: Linked, folder: Path) -> Copy:
    casework = services(linked.casework)
    url = casework.config.database_url
    folder.mkdir()
    if url.startswith("sqlite"):
        database = folder / "casework.sqlite"
        with sqlite3.connect(url.removeprefix("sqlite:///")) as live, \
                sqlite3.connect(database) as copied:
            live.backup(copied)  # a consistent copy, whatever the journal mode
        url = f"sqlite:///{database}"
    shutil.copytree(casework.store.root, folder / "store")
    return Copy(url, folder / "store")


def opens(key: crypto.PrivateKey, sealed: crypto.Envelope) -> dict[str, bytes]:
    """What ``key`` gets out of an envelope by each way of opening one."""
    got: dict[str, bytes] = {}
    with suppress(crypto.CryptoError):
        got["plain"] = crypto.open_bytes(sealed, key)[0]
    with suppress(crypto.CryptoError):
        got["outer"] = crypto.open_outer(sealed, key).body
    with suppress(crypto.CryptoError):
        got["custody"] = crypto.open_in_custody(sealed, key)
    return got


def keys(linked: Linked) -> dict[str, crypto.PrivateKey]:
    found = {name: s.key for name, s in linked.staff.items() if s.key is not None}
    return {**found, "escrow": linked.escrow}


def identity_row(linked: Linked, case_id: str) -> tuple[str, crypto.Envelope]:
    casework = services(linked.casework)
    with casework.db.session() as db:
        row = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                    CaseEnvelope.kind == "identity")).one()
        with casework.store.open(row.body_name) as body:
            return row.id, crypto.Envelope(row.header, body.read())


def release(linked: Linked, envelope_id: str, custodian: str, requester: str) -> None:
    """What an approval does to the data: the custodian's ``crypto.release``."""
    custodian_key, requester_key = linked.staff[custodian].key, linked.staff[requester].key
    assert custodian_key is not None and requester_key is not None
    with services(linked.casework).unit() as work:
        row = work.session.get(CaseEnvelope, envelope_id)
        assert row is not None
        row.header = crypto.release(row.header, custodian_key, requester_key.public_key)


def test_the_database_and_a_readers_key_open_no_identity(linked: Linked,
                                                          tmp_path: Path) -> None:
    case_id = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    identity_id, _ = identity_row(linked, case_id)
    everyone = keys(linked)
    anna = everyone["anna"]  # a reader of the case: the requester

    before = copy_of(linked, tmp_path / "before")
    with before.envelopes() as envelopes:
        assert {row.kind for row, _ in envelopes} >= {"report", "identity"}
        for row, sealed in envelopes:
            got = opens(anna, sealed)
            if row.kind == "identity":
                assert got == {}, "the requester opened the identity before any release"
            assert not any(NAME.encode() in p or CONTACT.encode() in p for p in got.values())
            for name, key in everyone.items():
                if row.kind == "identity" and name != "escrow":
                    assert "custody" not in opens(key, sealed), name
        [(_, identity)] = [(r, s) for r, s in envelopes if r.kind == "identity"]
        assert NAME.encode() in opens(linked.escrow, identity)["custody"]
    # Nor does the name lie about in plaintext anywhere in the database or the store.
    held = {"database": stored_bytes(before.database_url)}
    held |= {p.name: p.read_bytes() for p in before.store.rglob("*") if p.is_file()}
    for where, data in held.items():
        assert NAME.encode() not in data and CONTACT.encode() not in data, where

    release(linked, identity_id, "cecilia", "anna")
    after = copy_of(linked, tmp_path / "after")
    with after.envelopes() as envelopes:
        for row, sealed in envelopes:
            if row.kind != "identity":
                continue
            assert NAME.encode() in opens(anna, sealed)["custody"]
            # Nobody else gained anything: not the other reader, not the custodian.
            holders = {name for name, key in everyone.items()
                       if "custody" in opens(key, sealed)}
            assert holders == {"anna", "escrow"}


def test_the_custodians_key_opens_the_outer_layer_only(linked: Linked) -> None:
    case_id = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    _, sealed = identity_row(linked, case_id)
    cecilia = linked.staff["cecilia"].key
    assert cecilia is not None
    inner = crypto.open_outer(sealed, cecilia)
    assert set(crypto.header_key_ids(sealed.header)) == {
        cecilia.key_id, linked.escrow.key_id}
    with services(linked.casework).db.session() as db:
        report_row = db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "report")).one()
        # The inner layer: exactly the report's readers (and escrow), as intake sealed it.
        assert set(crypto.header_key_ids(inner.header)) == set(
            crypto.header_key_ids(report_row.header))
    assert cecilia.key_id not in crypto.header_key_ids(inner.header)
    for attempt in (lambda: crypto.open_bytes(inner, cecilia),
                    lambda: crypto.open_in_custody(sealed, cecilia)):
        try:
            attempt()
        except crypto.UnknownRecipient:
            continue
        raise AssertionError("the custodian alone opened the inner layer")


def test_assigning_a_case_gives_no_identity_and_a_custodian_keeps_their_entry(
        linked: Linked) -> None:
    """Assignment adds no one to the identity (an outer entry is a custodian's release);
    taking a case back from a custodian who also reviews leaves their custodian's entry."""
    case_id = report(linked, identity="confidential", name=NAME, contact=CONTACT)
    _, before = identity_row(linked, case_id)
    with services(linked.casework).db.session() as db:
        cecilia = db.scalars(select(User).where(User.username == "cecilia")).one()
        cecilia.memberships.append(Membership(unit_id="akt", role="reviewer"))
    cecilia_id = user_id(linked, "cecilia")
    call(linked, "lena", assign, case_id, cecilia_id)
    _, assigned = identity_row(linked, case_id)
    assert assigned.header == before.header
    call(linked, "lena", unassign, case_id, cecilia_id)
    _, taken_back = identity_row(linked, case_id)
    assert taken_back.header == before.header  # the custodian's outer entry stays
    key = linked.staff["cecilia"].key
    assert key is not None
    crypto.open_outer(taken_back, key)
