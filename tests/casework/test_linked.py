"""The linked fixture's template: each test's copy is its own (tests/casework/linked.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework import create_app
from casework.models import Role, User
from intake.models import StoredEnvelope
from tests.intake.conftest import submit
from tests.support.casework import casework_config, enrol, services
from tests.support.databases import sqlite_only
from tests.support.linked_world import copy_template, sqlite_url, start_intake

from .linked import Linked, _templates


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _users(linked: Linked) -> int:
    with services(linked.casework).db.session() as db:
        return int(db.scalar(select(func.count()).select_from(User)) or 0)


@sqlite_only
def test_what_one_copy_writes_reaches_neither_another_copy_nor_the_template(
        tmp_path_factory: pytest.TempPathFactory, linked: Linked) -> None:
    # The template this run's linked fixture copied from, and its files before any write.
    [template] = [t for (base, _), t in _templates.items()
                  if base == tmp_path_factory.getbasetemp()]
    before = _files(template.folder)
    second = tmp_path_factory.mktemp("second")
    copy_template(template, second)
    # Real copies: no file of a copy is the template's own.
    assert all((second / name).stat().st_ino != (template.folder / name).stat().st_ino
               for name in before)
    # The linked fixture's world, written to: a report through intake, a new person.
    assert _users(linked) == 7
    submit(linked.intake.test_client(), category="ethics")
    assert linked.sync()[0] == 1
    enrol(linked.casework, "nils", Role.REVIEWER, "etik")
    assert _users(linked) == 8
    # Another copy's fresh apps see none of it, nor does the template's folder change.
    casework = create_app(casework_config(second, template.argon2,
                                          sqlite_url(second, "casework")))
    with services(casework).db.session() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 7
    intake = start_intake(template, second)
    with intake.extensions["lykta.intake"].db.session() as db:
        assert db.scalar(select(func.count()).select_from(StoredEnvelope)) == 0
    assert _files(template.folder) == before
