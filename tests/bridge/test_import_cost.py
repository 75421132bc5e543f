"""What importing one envelope costs, in kind (not in seconds): the bridge's backlog guard.

After an outage intake may hold thousands of envelopes, and each one is imported in a unit
of work of its own (casework/bridge/imports.py says why). What each costs must therefore
stay flat: the same database statements for every report, however long the batch and
however many people the directory holds, and no key derivation at all. Wall-clock limits
would be flaky on a shared machine; these counts are not, and they fail on the kind of
regression that made an import cost tens of milliseconds of CPU (bench/results/bridge.md,
section 3): whole users (and their memberships) read for every person in the directory,
twice per report.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2.low_level import hash_secret_raw
from flask import Flask
from sqlalchemy import event, func, select

import crypto
import crypto.kdf
from casework.bridge.imports import Incoming, import_from_intake
from casework.models import AuditCheckpoint, Case, Membership, Role, User
from casework.models.cases import CaseReader
from tests.casework.conftest import Staff, services

# Statements one new report costs today (SQLite): the redelivery check, the case by
# receipt, the unit, the tipster key's uniqueness, the directory twice as (id, key)
# columns and its matches, the case's envelopes, the inserts (case, report,
# acknowledgement, its reader, the audit entries and the signed checkpoint), the
# acknowledgement's update of the case and the audit chain's head. A change that needs
# more should say why here.
STATEMENTS_PER_REPORT = 19


@dataclass
class Cost:
    """What one import did, counted."""

    items: int
    statements: collections.Counter[str] = field(default_factory=collections.Counter)
    users_loaded: int = 0
    key_derivations: int = 0

    def per_item(self) -> float:
        return sum(self.statements.values()) / self.items


@contextmanager
def counted(app: Flask, items: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cost]:
    """Count the statements sent, the users loaded and the Argon2 runs while inside."""
    cost = Cost(items)
    engine = services(app).db.engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        cost.statements[" ".join(sql.split()[:4])] += 1

    def user_loaded(_target: Any, _context: Any) -> None:
        cost.users_loaded += 1


    def counting_derive(*args: Any, **kwargs: Any) -> bytes:
        cost.key_derivations += 1  # the real derivation still runs
        return hash_secret_raw(*args, **kwargs)

    monkeypatch.setattr(crypto.kdf, "hash_secret_raw", counting_derive)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(User, "load", user_loaded)
    try:
        yield cost
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(User, "load", user_loaded)
        monkeypatch.undo()


def reports(reader: crypto.PublicKey, count: int, spool: Path) -> list[Incoming]:
    """``count`` genuine report envelopes, each of its own tipster, sealed to ``reader``."""
    escrow = crypto.PrivateKey.generate().public_key
    out = []
    for _ in range(count):
        path = spool / secrets.token_hex(8)
        with path.open("wb") as body:
            sealed = crypto.seal_stream(
                _Reader(b'{"text": "a report"}'), body, [reader, escrow],
                routing={"kind": "report", "category": "ethics", "unit": "etik"})
        out.append(Incoming(sealed.envelope_id.hex(), secrets.token_hex(16), "report",
                            sealed.header, path, crypto.PrivateKey.generate().public_key.raw,
                            "etik"))
    return out


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self._data = (self._data, b"") if size < 0 else (self._data[:size],
                                                                 self._data[size:])
        return chunk


def grow_directory(app: Flask, people: int) -> None:
    """``people`` more enrolled reviewers of another unit (rows only: no Argon2 here)."""
    with services(app).db.session() as session:
        for n in range(people):
            user = User(username=f"colleague{n}", display_name=f"Colleague {n}",
                        password_hash="not a hash: never signs in",
                        public_key=crypto.PrivateKey.generate().public_key.raw)
            user.memberships.append(Membership(unit_id="akt", role=Role.REVIEWER.value))
            session.add(user)


def _checkpoints(app: Flask) -> int:
    with services(app).db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0


def test_a_report_costs_the_same_statements_whatever_the_batch_and_the_directory(
        casework: Flask, enrol: Callable[..., Staff], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    eva = enrol("eva", Role.REVIEWER, "etik")
    assert eva.key is not None
    spool = tmp_path / "spool"
    spool.mkdir()
    import_from_intake(services(casework), reports(eva.key.public_key, 1, spool))  # warm

    small = reports(eva.key.public_key, 2, spool)
    checkpoints = _checkpoints(casework)
    with counted(casework, len(small), monkeypatch) as before:
        assert import_from_intake(services(casework), small).imported == 2

    grow_directory(casework, 30)
    large = reports(eva.key.public_key, 6, spool)
    with counted(casework, len(large), monkeypatch) as after:
        assert import_from_intake(services(casework), large).imported == 6

    # Flat: a longer batch and a directory of 30 more people add nothing per report.
    assert after.per_item() == before.per_item(), (before.statements, after.statements)
    assert before.per_item() <= STATEMENTS_PER_REPORT, before.statements
    # Only the readers are loaded as users (eva, once for the case_readers row and once
    # for the acknowledgement's recipients), never the rest of the directory.
    assert before.users_loaded / before.items == after.users_loaded / after.items <= 2
    # No key derivation (Argon2) while importing: nothing is unlocked, only copied.
    assert before.key_derivations == after.key_derivations == 0
    # Still one unit of work (one signed audit checkpoint) per item, so that one failing
    # item rolls back alone; and each case has its one reader: the speed-up trimmed reads,
    # not checks or bookkeeping.
    assert _checkpoints(casework) - checkpoints == 2 + 6
    with services(casework).db.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 9
        eva_id = session.scalar(select(User.id).where(User.username == "eva"))
        assert {r.user_id for r in session.scalars(select(CaseReader))} == {eva_id}
        assert session.scalar(select(func.count()).select_from(CaseReader)) == 9
