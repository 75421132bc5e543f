"""The casework CLI runs each command in one unit of work: its domain events reach the
app's dispatcher after the commit, and a refused command tells nothing, changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from casework.events import (
    DirectoryExported,
    KeyApproved,
    KeyRotated,
    PasswordReset,
    UserCreated,
)
from casework.models import DirectoryExport, Role, User
from common.directory import verify_directory
from common.unit_of_work import DomainEvent, Phase

from .conftest import Staff, services
from .events_support import Recorder, only_ids_and_codes, record


def invoke(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result.exit_code, result.output


def user_id(app: Flask, username: str) -> str | None:
    with services(app).db.session() as db:
        return db.scalar(select(User.id).where(User.username == username))


def users(app: Flask) -> int:
    with services(app).db.session() as db:
        return int(db.scalar(select(func.count()).select_from(User)) or 0)


def test_users_create_tells_the_dispatcher_after_the_commit(casework: Flask) -> None:
    recorder = record(casework)
    seen: list[bool] = []

    def committed(_session: Session, event: UserCreated) -> None:
        # Another connection sees the account: the event is heard after the commit.
        with services(casework).db.session() as other:
            seen.append(other.get(User, event.user_id) is not None)

    services(casework).dispatcher.subscribe(UserCreated, committed, phase=Phase.AFTER_COMMIT)
    code, output = invoke(casework, "users", "create", "eva", "--name", "Eva L", "--unit",
                          "etik", "--role", "reviewer")
    assert code == 0 and "One-time password" in output
    eva = user_id(casework, "eva")
    assert eva is not None
    assert recorder.after == [UserCreated(eva, "etik", "reviewer", None)]
    assert recorder.before == recorder.after and seen == [True]
    assert all(only_ids_and_codes(event) for event in recorder.after)


def test_a_refused_command_tells_nothing_and_changes_nothing(
        casework: Flask, enrol: Callable[..., Staff]) -> None:
    enrol("eva", Role.REVIEWER, "etik")
    recorder = record(casework)
    before = users(casework)
    for args in (["users", "create", "eva", "--name", "X", "--unit", "etik", "--role",
                  "reviewer"],  # the name is taken
                 ["users", "create", "olle", "--name", "X", "--unit", "nowhere", "--role",
                  "reviewer"],  # no such unit
                 ["users", "reset-password", "nobody"],
                 ["keys", "approve", "eva", "--by", "eva"],  # no key awaits approval
                 ["units", "add", "etik", "--sv", "X", "--en", "X"]):  # the unit exists
        code, _ = invoke(casework, *args)
        assert code != 0, args
    assert users(casework) == before and user_id(casework, "olle") is None
    assert recorder.before == [] and recorder.after == []


def _heard(recorder: Recorder, kind: type[DomainEvent]) -> list[DomainEvent]:
    assert recorder.before == recorder.after
    return recorder.of(kind)


def test_reset_rotate_and_approve_are_told(casework: Flask,
                                           enrol: Callable[..., Staff]) -> None:
    enrol("eva", Role.REVIEWER, "etik")
    enrol("admin", Role.ADMINISTRATOR, "kof")
    enrol("other", Role.ADMINISTRATOR, "kof")
    eva_id = user_id(casework, "eva")
    other_id = user_id(casework, "other")
    assert eva_id is not None and other_id is not None
    recorder = record(casework)
    code, output = invoke(casework, "users", "reset-password", "eva", "--by", "admin")
    assert code == 0, output
    assert _heard(recorder, PasswordReset) == [PasswordReset(eva_id, "admin")]
    temporary = output.rsplit(": ", 1)[1].strip()
    recorder.clear()
    code, output = invoke(casework, "keys", "rotate", "eva", "--password", temporary)
    assert code == 0, output
    assert _heard(recorder, KeyRotated) == [KeyRotated(eva_id, awaits_approval=True)]
    recorder.clear()
    code, output = invoke(casework, "keys", "approve", "eva", "--by", "other")
    assert code == 0, output
    assert _heard(recorder, KeyApproved) == [KeyApproved(eva_id, other_id)]


def test_directory_export_is_told_with_its_serial(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff], tmp_path: Path,
        casework: Flask) -> None:
    invoke(casework, "keys", "signing-init")
    recorder = record(casework)
    # Refused (no escrow key configured): nothing recorded, nothing told.
    code, output = invoke(casework, "directory", "export", "--out", str(tmp_path / "d"))
    assert code != 0 and "escrow" in output
    assert recorder.after == [] and recorder.before == []
    with services(casework).db.session() as db:
        assert db.scalar(select(func.count()).select_from(DirectoryExport)) == 0
    escrow = crypto.generate_escrow_key()
    app = make_casework(escrow_public_key=escrow.public_key.raw)
    enrol("eva", Role.REVIEWER, "etik")
    enrol("anna", Role.REVIEWER, "akt")
    recorder = record(app)
    code, output = invoke(app, "directory", "export", "--out", str(tmp_path / "d"))
    assert code == 0, output
    seed = services(app).config.signing_key_path.read_bytes()
    directory = verify_directory((tmp_path / "d").read_bytes(),
                                 crypto.SigningKey.from_seed(seed).verify_key)
    assert recorder.after == [DirectoryExported(directory.serial)]
    assert recorder.before == recorder.after
