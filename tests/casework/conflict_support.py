"""Shared by the conflict and rekey tests: an etik lead, a reported case, what opens."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from casework.directory import export_directory
from casework.models import Case, CaseEnvelope, Conflict, Role, User
from casework.models.cases import CaseReader
from intake.services import Intake, record_directory
from tests.intake.conftest import csrf_token, sign_in, submit

from .conftest import Staff, csrf, services
from .handling_support import client as signed_in
from .linked import Linked


def add_etik_lead(linked: Linked, enrol: Callable[..., Staff]) -> None:
    """Lars, unit lead of etik, enrolled and published to intake (before a report)."""
    linked.staff["lars"] = enrol("lars", Role.UNIT_LEAD, "etik")
    with services(linked.casework).db.session() as db:
        document = export_directory(db, signing_key=linked.signing,
                                    escrow=linked.escrow.public_key,
                                    valid_for=dt.timedelta(days=30))
    intake: Intake = linked.intake.extensions["lykta.intake"]
    intake.config.directory_path.write_bytes(document)
    with intake.unit() as unit:
        intake.directory = record_directory(unit.session, intake.config)


@dataclass(frozen=True)
class Reported:
    """A case as the tests need it: its id, and the tipster's receipt and client."""

    case_id: str
    receipt: str
    tipster: FlaskClient

    def tipster_key(self, linked: Linked) -> crypto.PrivateKey:
        """The tipster's private key, derived from the receipt as intake does."""
        config = linked.intake.extensions["lykta.intake"].config
        return crypto.derive_receipt_keys(self.receipt, config.instance_salt,
                                          config.argon2).tipster_key


def reported_case(linked: Linked, files: int = 2, file_bytes: bytes = b"%PDF-1.4 minutes",
                  follow_up: bool = True, **form: object) -> Reported:
    """An ethics report with files and, with ``follow_up``, a tipster message, a reply and
    a note (all sealed to eva, erik, lars and escrow)."""
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics", what="The head of unit hired her nephew.",
                     files=[(io.BytesIO(file_bytes + bytes([i])), f"minutes-{i}.pdf")
                            for i in range(files)], **form)
    linked.sync()
    with services(linked.casework).db.session() as db:
        case_id = db.scalars(select(Case.id)).one()
    if follow_up:
        sign_in(tipster, receipt)
        tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                                "text": "It was 2025."},
                     content_type="multipart/form-data")
        linked.sync()
        eva = client(linked, "eva")
        eva.post(f"/cases/{case_id}/reply",
                 data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                       "reply-text": "Which year?"})
        eva.post(f"/cases/{case_id}/notes",
                 data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                       "note-text": "Check the 2025 hiring files."})
    return Reported(case_id, receipt, tipster)


def client(linked: Linked, name: str) -> FlaskClient:
    """A test client on which ``name`` has signed in: once per app, as in
    handling_support (each sign-in takes a fresh TOTP step; repeated ones would wait)."""
    return signed_in(linked, name)


def key_of(linked: Linked, name: str) -> crypto.PrivateKey:
    key = linked.staff[name].key
    assert key is not None
    return key


def user_id(linked: Linked, name: str) -> str:
    with services(linked.casework).db.session() as db:
        return db.scalars(select(User.id).where(User.username == name)).one()


@dataclass(frozen=True)
class Stored:
    """An envelope row as stored now."""

    id: str
    kind: str
    origin: str
    header: bytes
    body_name: str
    generation: int


def envelopes(linked: Linked, case_id: str) -> list[Stored]:
    with services(linked.casework).db.session() as db:
        return [Stored(e.id, e.kind, e.origin, e.header, e.body_name, e.generation)
                for e in db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id)
                                    .order_by(CaseEnvelope.created_at, CaseEnvelope.id))]


def body(linked: Linked, envelope: Stored) -> bytes:
    with services(linked.casework).store.open(envelope.body_name) as file:
        return file.read()


def opens(linked: Linked, key: crypto.PrivateKey, envelope: Stored) -> bool:
    """True if ``key`` opens the envelope's content key and its whole body decrypts."""
    try:
        content_key = crypto.open_content_key(envelope.header, key)
        crypto.decrypt_body(io.BytesIO(body(linked, envelope)), io.BytesIO(), content_key)
    except crypto.DecryptionError:
        return False
    return True


def declare(linked: Linked, name: str, case_id: str, reason: str = "") -> int:
    """``name`` declares a conflict through the form; the answer's status."""
    signed = client(linked, name)
    return signed.post(f"/conflicts/{case_id}/declare",
                       data={"conflict-csrf_token": csrf(signed, "/"),
                             "conflict-confirm": "y", "conflict-reason": reason}).status_code


def conflicts(linked: Linked, case_id: str) -> list[Conflict]:
    with services(linked.casework).db.session() as db:
        return list(db.scalars(select(Conflict).where(Conflict.case_id == case_id)))


def readers(linked: Linked, case_id: str) -> set[str]:
    """User names with a case_readers row for the case."""
    with services(linked.casework).db.session() as db:
        return set(db.scalars(select(User.username).join(
            CaseReader, CaseReader.user_id == User.id).where(CaseReader.case_id == case_id)))


def rekey_post(linked: Linked, name: str, case_id: str) -> int:
    """``name`` presses "rekey now" (the token from the start page: opening the case page
    would rekey it already); the answer's status."""
    signed = client(linked, name)
    return signed.post(f"/conflicts/{case_id}/rekey",
                       data={"rekey-csrf_token": csrf(signed, "/")}).status_code


def stored_files(linked: Linked) -> set[str]:
    """The names of every body in the store, and of what waits in incoming/."""
    store = services(linked.casework).store
    return {p.name for p in store.root.iterdir() if p.is_file()} | \
        {f"incoming/{p.name}" for p in store.incoming_dir.iterdir()}
