"""What the handling tests share: reports sent through intake, people by name, headers and
bodies as stored, and the domain functions called in a unit of work of their own."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework.models import Assignment, Case, CaseEnvelope, Escalation, User
from tests.intake.conftest import submit

from .conftest import csrf, log_in, services
from .linked import Linked

ZERO = "0" * 32


def key_id(linked: Linked, name: str) -> bytes:
    key = linked.staff[name].key
    assert key is not None
    return key.public_key.key_id


def user_id(linked: Linked, name: str) -> str:
    with services(linked.casework).db.session() as db:
        return db.scalars(select(User.id).where(User.username == name)).one()


def report(linked: Linked, *, category: str = "corruption", exclude: tuple[str, ...] = (),
           what: str = "Kickbacks on road contracts", **more: object) -> str:
    """Send a report through intake, sync, and return its case id."""
    with services(linked.casework).db.session() as db:
        before = set(db.scalars(select(Case.id)))
    submit(linked.intake.test_client(), category=category, what=what,
           excluded=[key_id(linked, n).hex() for n in exclude], **more)
    linked.sync()
    with services(linked.casework).db.session() as db:
        (case_id,) = set(db.scalars(select(Case.id))) - before
    return case_id


def client(linked: Linked, name: str) -> FlaskClient:
    """``name`` signed in on a client, once per app (kept with the app): every sign-in
    takes a fresh TOTP step, and waiting for steps would make a test take minutes."""
    signed_in: dict[str, FlaskClient] = linked.casework.extensions.setdefault(
        "tests.signed_in", {})
    if name not in signed_in:
        signed_in[name] = linked.casework.test_client()
        log_in(linked.casework, signed_in[name], linked.staff[name])
    return signed_in[name]


def token(signed_in: FlaskClient, _case_id: str | None = None) -> str:
    """The session's CSRF token (the same for every form; the start page has one)."""
    return csrf(signed_in, "/")


def headers(linked: Linked, case_id: str) -> dict[str, bytes]:
    with services(linked.casework).db.session() as db:
        return {e.id: e.header for e in db.scalars(
            select(CaseEnvelope).where(CaseEnvelope.case_id == case_id))}


def holds(linked: Linked, case_id: str, name: str) -> bool:
    """True if any envelope of the case is addressed to ``name``'s key."""
    wanted = key_id(linked, name)
    return any(wanted in crypto.header_key_ids(h) for h in headers(linked, case_id).values())


def bodies(linked: Linked, case_id: str) -> dict[str, str]:
    """A digest of every stored body of the case, by envelope id."""
    store = services(linked.casework).store
    out = {}
    with services(linked.casework).db.session() as db:
        for envelope in db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id)):
            with store.open(envelope.body_name) as body:
                out[envelope.id] = hashlib.sha256(body.read()).hexdigest()
    return out


def state(linked: Linked, case_id: str) -> tuple[Any, ...]:
    """Everything a handling action may change on a case: headers, tag, assignments,
    escalations, envelopes."""
    stored = sorted(headers(linked, case_id).items())
    with services(linked.casework).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return (case.readers_tag, stored,
                sorted(db.scalars(select(Assignment.user_id)
                                  .where(Assignment.case_id == case_id))),
                sorted((e.kind, e.destination) for e in db.scalars(
                    select(Escalation).where(Escalation.case_id == case_id))))


def assigned(linked: Linked, case_id: str) -> set[str]:
    with services(linked.casework).db.session() as db:
        return set(db.scalars(select(User.username).join(
            Assignment, Assignment.user_id == User.id).where(Assignment.case_id == case_id)))


@contextmanager
def as_user(linked: Linked, name: str) -> Iterator[tuple[Session, User, crypto.PrivateKey]]:
    """A unit of work, the named person's row and key: for calling domain functions."""
    app = linked.casework
    key = linked.staff[name].key
    assert key is not None
    with app.app_context(), services(app).unit() as work:
        person = work.session.scalars(select(User).where(User.username == name)).one()
        yield work.session, person, key


def call(linked: Linked, name: str, action: Callable[..., Any], *args: Any) -> Any:
    """``action(casework, session, user, key, *args)`` as ``name``, committed."""
    with as_user(linked, name) as (session, person, key):
        return action(services(linked.casework), session, person, key, *args)


def readable_items(linked: Linked, name: str, case_id: str) -> dict[str, str]:
    """Each envelope of the case ``name``'s key opens (by id: its kind)."""
    key = linked.staff[name].key
    assert key is not None
    store = services(linked.casework).store
    opened = {}
    with services(linked.casework).db.session() as db:
        for envelope in db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id)):
            try:
                content_key = crypto.open_content_key(envelope.header, key)
            except crypto.UnknownRecipient:
                continue
            with store.open(envelope.body_name) as body:
                b"".join(crypto.body_plaintext(body, content_key))  # authenticates it all
            opened[envelope.id] = envelope.kind
    return opened


def kinds(linked: Linked, case_id: str) -> dict[str, str]:
    with services(linked.casework).db.session() as db:
        return {e.id: e.kind for e in db.scalars(
            select(CaseEnvelope).where(CaseEnvelope.case_id == case_id))}
