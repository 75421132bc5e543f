"""Every domain event becomes an audit entry, in the transaction of its action; never
content; a unit that rolls back leaves no entry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from casework import events
from casework.audit.record import action_code
from casework.events import CaseAssigned, CaseRead, PasswordReset, SignedIn, UserCreated
from casework.models import AuditEntry, Role
from common.unit_of_work import emit_on

from .audit_support import check, checkpoint_seqs, emit, entries, event_classes, sample
from .conftest import Staff, log_in, services

# What an event field may hold: ids, codes, counts, flags, dates, tuples of codes. A
# field of any other type could carry free text, so it fails here before it ships.
ALLOWED = (str, int, bool, type(None), dt.date, dt.datetime)


def _allowed_hint(hint: object) -> bool:
    if isinstance(hint, types.UnionType):
        return all(_allowed_hint(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return all(arg is Ellipsis or _allowed_hint(arg) for arg in typing.get_args(hint))
    return hint in ALLOWED or (isinstance(hint, type) and issubclass(hint, enum.StrEnum))


def test_the_enumeration_sees_the_events() -> None:
    found = set(event_classes())
    assert {CaseRead, CaseAssigned, SignedIn, PasswordReset} <= found
    assert len(found) >= 30


def test_the_package_lists_and_re_exports_every_event() -> None:
    # casework.events is the one import path and ALL the one list (the audit page's
    # action filter reads it): an event in a module left out of either would be missed.
    assert set(events.ALL) == set(event_classes())
    assert len(events.ALL) == len(set(events.ALL))
    assert all(getattr(events, cls.__name__) is cls for cls in events.ALL)
    assert set(events.__all__) >= {cls.__name__ for cls in events.ALL}


def test_events_about_one_case_are_in_the_case_modules() -> None:
    # The seam between the modules: an event that names a case is filed under it by the
    # audit log and lives with the case events; accounts and operations name none.
    for cls in events.ALL:
        if "case_id" in {f.name for f in dataclasses.fields(cls)}:
            assert cls.__module__ in {events.cases.__name__, events.reporters.__name__}, cls


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_every_event_field_is_an_id_a_code_a_count_or_a_flag(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    bad = {f.name: hints[f.name] for f in dataclasses.fields(cls)
           if not _allowed_hint(hints[f.name])}
    assert bad == {}, f"{cls.__name__} has fields that could hold free text"


def test_every_event_becomes_one_entry_named_by_convention(casework: Flask) -> None:
    classes = event_classes()
    emitted = [sample(cls) for cls in classes]
    emit(casework, *emitted)
    logged = entries(casework)
    assert [e.seq for e in logged] == list(range(1, len(classes) + 1))
    assert [e.action for e in logged] == [action_code(cls) for cls in classes]
    for event, entry in zip(emitted, logged, strict=True):
        values = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        assert entry.case_id == values.pop("case_id", None)
        if "by" in values:
            assert entry.actor_id is None  # the sample "by" is no known person
            assert values.pop("by") == json.loads(entry.details).pop("by")
        else:
            assert entry.actor_id == values.pop("user_id", None)
        details = json.loads(entry.details)
        details.pop("by", None)
        assert set(details) == set(values)
        # Only scalars and lists of codes: nothing that nests a document.
        for value in details.values():
            assert isinstance(value, str | int | bool | list | type(None))
            assert not isinstance(value, list) or all(isinstance(v, str) for v in value)
        # Canonical: what is stored is what canonical JSON gives back.
        assert entry.details == json.dumps(json.loads(entry.details), sort_keys=True,
                                           separators=(",", ":"))
    # One unit: one checkpoint, at its last entry.
    assert checkpoint_seqs(casework) == [len(classes)]
    assert check(casework).ok


def test_action_codes_follow_the_convention() -> None:
    assert action_code(CaseAssigned) == "case_assigned"
    assert action_code(type("SignInRefused", (), {})) == "sign_in_refused"
    assert action_code(type("KOFReferral", (), {})) == "kof_referral"


def test_by_is_the_actor_and_the_person_acted_upon_is_a_detail(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    enrol("lena", Role.UNIT_LEAD, "etik")
    enrol("eva", Role.REVIEWER, "etik")
    with services(casework).db.session() as db:
        from casework.models import User

        ids = {u.username: u.id for u in db.scalars(select(User))}
    emit(casework, CaseAssigned("c" * 32, ids["eva"], ids["lena"], 2),
         PasswordReset(ids["eva"], "lena"), UserCreated(ids["eva"], "etik", "reviewer"))
    assigned, reset, created = entries(casework)[-3:]
    assert (assigned.actor_id, assigned.case_id) == (ids["lena"], "c" * 32)
    assert json.loads(assigned.details) == {"user_id": ids["eva"], "envelopes_changed": 2}
    # PasswordReset names the administrator by user name: logged by id, like every actor.
    assert reset.actor_id == ids["lena"] and json.loads(reset.details) == {
        "user_id": ids["eva"]}
    # From the command line (by None): no actor.
    assert created.actor_id is None
    assert json.loads(created.details) == {"user_id": ids["eva"], "unit_id": "etik",
                                           "role": "reviewer"}


def test_a_unit_that_rolls_back_leaves_no_entry_and_no_checkpoint(casework: Flask) -> None:
    emit(casework, SignedIn("a" * 32))
    with pytest.raises(RuntimeError), services(casework).unit() as unit:
        emit_on(unit.session, CaseRead("c" * 32, "a" * 32))
        unit.session.flush()
        raise RuntimeError("the action failed")
    assert [e.action for e in entries(casework)] == ["signed_in"]
    assert checkpoint_seqs(casework) == [1]
    # The next unit chains on from the committed head, not from the rolled-back one.
    emit(casework, CaseRead("c" * 32, "a" * 32))
    assert [e.seq for e in entries(casework)] == [1, 2]
    assert check(casework).ok


def test_a_failing_subscriber_after_the_log_rolls_the_action_and_its_entry_back(
        casework: Flask) -> None:
    from common.unit_of_work import Phase

    def refuse(_session: object, _event: object) -> None:
        raise RuntimeError("a later subscriber failed")

    services(casework).dispatcher.subscribe(CaseRead, refuse, phase=Phase.BEFORE_COMMIT)
    with pytest.raises(RuntimeError):
        emit(casework, CaseRead("c" * 32, "a" * 32))
    assert entries(casework) == [] and checkpoint_seqs(casework) == []


def test_signing_in_through_the_app_is_logged_with_the_person_as_actor(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    eva = enrol("eva", Role.REVIEWER, "etik")
    client = casework.test_client()
    log_in(casework, client, eva)
    with services(casework).db.session() as db:
        from casework.models import User

        eva_id = db.scalar(select(User.id).where(User.username == "eva"))
        signed_in = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "signed_in")).all()
    assert [e.actor_id for e in signed_in] == [eva_id]
    head = services(casework).config.audit_head_file
    assert json.loads(head.read_text())["seq"] == entries(casework)[-1].seq
    assert check(casework).ok


def test_the_signing_key_is_created_owner_only_and_kept(make_casework: Callable[..., Flask],
                                                       casework: Flask) -> None:
    path = services(casework).config.audit_signing_key_file
    assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_bytes()) == 32
    seed = path.read_bytes()
    make_casework()  # a second start keeps the key
    assert path.read_bytes() == seed
