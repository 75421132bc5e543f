"""May this person read the case? Answered from their key id in the report's recipient
header, before anything is decrypted; a reviewer the tipster left out is refused exactly
as for a case that does not exist."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

import crypto
from casework.cases import add_note, open_case, reply
from casework.errors import NotPermitted
from casework.models import CaseEnvelope, User
from casework.models.cases import CaseReader

from .conftest import csrf, services
from .events_support import a_case, post_text, snapshot
from .linked import Linked
from .test_cases import _reviewer

# Everything in crypto that opens a content key or decrypts a body.
OPENERS = ("open_content_key", "decrypt_body", "body_plaintext", "open_stream", "open_bytes")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count every call to crypto's openers; each call still goes to the real function."""
    calls: Counter[str] = Counter()

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)
        return counted

    for name in OPENERS:
        monkeypatch.setattr(crypto, name, spy(name, getattr(crypto, name)))
    return calls


def _excluding_anna(linked: Linked) -> str:
    key = linked.staff["anna"].key
    assert key is not None
    return a_case(linked, category="corruption", what="Kickbacks on roads",
                  excluded=[key.public_key.key_id.hex()])


def test_the_header_and_its_index_leave_the_excluded_reviewer_out(linked: Linked) -> None:
    case_id = _excluding_anna(linked)
    anna, lena = linked.staff["anna"].key, linked.staff["lena"].key
    assert anna is not None and lena is not None
    with services(linked.casework).db.session() as db:
        report = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id,
                                                       CaseEnvelope.kind == "report")).one()
        ids = crypto.header_key_ids(report.header)
        readers = set(db.scalars(select(User.username).join(
            CaseReader, CaseReader.user_id == User.id).where(CaseReader.case_id == case_id)))
    assert lena.public_key.key_id in ids and anna.public_key.key_id not in ids
    assert "lena" in readers and "anna" not in readers


def _tokenless(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*?value=")[^"]*"', r'\1"', html)


def test_an_excluded_reviewer_is_refused_without_any_decryption(
        linked: Linked, opened: Counter[str]) -> None:
    case_id = _excluding_anna(linked)
    anna = _reviewer(linked, "anna")  # a reviewer of the case's unit
    token = csrf(anna, "/")
    unknown = anna.get(f"/cases/{'0' * 32}")
    before = snapshot(linked.casework)
    opened.clear()
    page = anna.get(f"/cases/{case_id}")
    assert page.status_code == 403
    # Says nothing: the same page as for no such case (but for the id in its own links,
    # and the form token, which carries the second it was signed in).
    assert _tokenless(page.get_data(as_text=True).replace(case_id, "0" * 32)) \
        == _tokenless(unknown.get_data(as_text=True))
    assert post_text(anna, case_id, "reply", "Hello", token) == 403
    assert post_text(anna, case_id, "note", "Hello", token) == 403
    with services(linked.casework).db.session() as db:
        report_id = db.scalars(select(CaseEnvelope.id).where(
            CaseEnvelope.case_id == case_id, CaseEnvelope.kind == "report")).one()
    assert anna.get(f"/cases/{case_id}/files/{report_id}").status_code == 403
    assert sum(opened.values()) == 0
    assert snapshot(linked.casework) == before
    # The spies do see decryption: the unit's lead, who is a reader, opens the case.
    assert _reviewer(linked, "lena").get(f"/cases/{case_id}").status_code == 200
    assert opened["open_content_key"] > 0 and opened["decrypt_body"] > 0


def test_the_domain_functions_refuse_before_decrypting(linked: Linked,
                                                       opened: Counter[str]) -> None:
    case_id = _excluding_anna(linked)
    casework = services(linked.casework)
    key = linked.staff["anna"].key
    opened.clear()
    with casework.db.session() as db:
        anna = db.scalars(select(User).where(User.username == "anna")).one()
        eva = db.scalars(select(User).where(User.username == "eva")).one()
        for action in (reply, add_note):
            with pytest.raises(NotPermitted):
                action(casework, db, anna, key, case_id, "Hello")
        with pytest.raises(NotPermitted):
            open_case(casework, db, anna, key, case_id)
        # Another unit's reviewer, and a reader without a key: refused alike.
        with pytest.raises(NotPermitted):
            open_case(casework, db, eva, linked.staff["eva"].key, case_id)
        lena = db.scalars(select(User).where(User.username == "lena")).one()
        with pytest.raises(NotPermitted):
            add_note(casework, db, lena, None, case_id, "Hello")
    assert sum(opened.values()) == 0
