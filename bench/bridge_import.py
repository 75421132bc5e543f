"""Section 3 of the bridge bench: the CPU one imported report costs, before and after.

``import_from_intake`` runs in this process on reports sealed here (no HTTP: the import
alone), on SQLite and on PostgreSQL, with the instance's 3 staff and with 50 more people
in the directory. Each row is measured twice in the same run, alternating: with the
current code, and with the directory read the import used before (every user and their
memberships loaded as objects, twice per report), kept below as the reference. CPU is
``time.process_time`` of this process (user + system), so other load on the machine
inflates it less than wall time; statements are counted on the engine.
"""

from __future__ import annotations

import contextlib
import secrets
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import event, select
from sqlalchemy.orm import Session

import crypto
from bench import postgres
from bench.harness import md_table

ROUNDS = 3


def _users_by_key_id_before(session: Session, key_ids: Iterable[bytes]) -> dict[bytes, Any]:
    """The directory read as it was before this section was written (the reference)."""
    from casework.models import User

    wanted = set(key_ids)
    found: dict[bytes, Any] = {}
    for person in session.scalars(select(User).where(User.public_key.is_not(None))):
        if person.public_key is not None:
            key_id = crypto.key_id_of(person.public_key)
            if key_id in wanted:
                found[key_id] = person
    return found


class _Text:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


def _reports(reader: crypto.PublicKey, escrow: crypto.PublicKey, count: int,
             spool: Path) -> list[Any]:
    from casework.bridge.imports import Incoming

    out = []
    for _ in range(count):
        path = spool / secrets.token_hex(8)
        with path.open("wb") as body:
            sealed = crypto.seal_stream(_Text(b'{"text": "' + b"x" * 1000 + b'"}'), body,
                                        [reader, escrow], routing={
                                            "kind": "report", "category": "ethics",
                                            "unit": "etik"})
        out.append(Incoming(sealed.envelope_id.hex(), secrets.token_hex(16), "report",
                            sealed.header, path, crypto.PrivateKey.generate().public_key.raw,
                            "etik"))
    return out


def _grow_directory(services: Any, people: int) -> None:
    from casework.models import Membership, Role, User

    with services.db.session() as session:
        for n in range(people):
            user = User(username=f"colleague{n}", display_name=f"Colleague {n}",
                        password_hash="bench: never signs in",
                        public_key=crypto.PrivateKey.generate().public_key.raw)
            user.memberships.append(Membership(unit_id="akt", role=Role.REVIEWER.value))
            session.add(user)


def _measure(services: Any, items: list[Any], before: bool) -> tuple[float, float]:
    """CPU seconds and statements per item of one import of ``items``."""
    from casework import readers
    from casework.bridge.imports import import_from_intake

    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(services.db.engine, "before_cursor_execute", count)
    patch: Any = mock.patch.object(readers, "_users_by_key_id", _users_by_key_id_before) \
        if before else contextlib.nullcontext()
    try:
        with patch:
            start = time.process_time()
            outcome = import_from_intake(services, items)
            cpu = time.process_time() - start
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    if outcome.imported != len(items):
        raise RuntimeError(f"an import of {len(items)} reports did {outcome}")
    return cpu / len(items), statements / len(items)


def _rows(make: Callable[[Path, dict[str, object] | None], tuple[Any, Any, Any]],
          work: Path, database: str, extra: dict[str, object] | None, batch: int,
          progress: Callable[[str], None]) -> list[list[str]]:
    services, reader, escrow = make(work / f"import-{database}", extra)
    spool = work / f"import-{database}-spool"
    spool.mkdir()
    _measure(services, _reports(reader, escrow, 5, spool), before=False)  # warm
    rows = []
    for people in (0, 50):
        if people:
            _grow_directory(services, people)
        progress(f"3. import CPU on {database}, directory +{people}")
        cpu: dict[bool, list[float]] = {True: [], False: []}
        stmts: dict[bool, float] = {}
        for _ in range(ROUNDS):
            for before in (True, False):  # alternating, so load drifts hit both alike
                seconds, stmts[before] = _measure(
                    services, _reports(reader, escrow, batch, spool), before)
                cpu[before].append(seconds)
        old, new = statistics.median(cpu[True]), statistics.median(cpu[False])
        rows.append([database, f"3 + {people}" if people else "3",
                     f"{batch} x {ROUNDS}", f"{old * 1000:.1f} ms", f"{new * 1000:.1f} ms",
                     f"**{old / new:.2f}x**", f"{stmts[True]:.0f} / {stmts[False]:.0f}"])
    for path in spool.iterdir():
        path.unlink()
    services.db.engine.dispose()
    return rows


def section(make: Callable[[Path, dict[str, object] | None], tuple[Any, Any, Any]],
            work: Path, batch: int, progress: Callable[[str], None]) -> list[str]:
    """Section 3's lines. ``make(root, casework_settings)`` builds an instance and returns
    casework's services, a reviewer's public key and the escrow public key."""
    rows = _rows(make, work, "SQLite", None, batch, progress)
    lines: list[str] = []
    if postgres.bin_dir() is None:
        lines += postgres.missing("section 3 on PostgreSQL")
    else:
        with postgres.Cluster() as cluster:
            rows += _rows(make, work, "PostgreSQL", {"database_url": cluster.new_database()},
                          batch, progress)
    return [
        "## 3. CPU per imported report, before and after the directory fix",
        "",
        "`import_from_intake` alone (no HTTP), in this process, on 1 KiB reports of new "
        "tipsters (each creates its case, its reader row and the sealed automatic "
        "acknowledgement, in a unit of work of its own). *Before* is the directory read the "
        "import used until this section was written (every user with a key loaded as an "
        "object with its memberships, and each key hashed, twice per report: once for the "
        "case's reader rows, once for the acknowledgement's recipients); *after* reads the "
        "directory as (id, key) columns and loads only the readers. Both run in the same "
        "process, alternating, on the same database; CPU = `time.process_time` per report, "
        "median of the rounds. The directory holds the instance's 3 staff, then 50 more "
        "people of another unit.",
        "",
        *md_table(["Database", "Directory", "Batch x rounds", "CPU before", "CPU after",
                   "Before / after", "Statements before / after"], rows),
        "",
        *lines,
        "Where the rest goes (a py-spy profile of 200 reports through `run_cycle`, with "
        "intake's sync app in the same process as in the crash test, where the whole cycle "
        "came to about 70 ms of CPU per report under load): no key derivation and no "
        "public-key operation repeated needlessly; about half is the import's own unit of "
        "work: 19 statements and 5 flushes (the readers' before-flush hook runs in each), "
        "the audit entries, the signed audit checkpoint and the head file written with an "
        "fsync at every commit, and two bodies placed with an fsync each (the report and the "
        "acknowledgement, whose one X25519 seal per recipient is needed). The fetch is "
        "about a sixth (one signed request each; the client now keeps one urllib opener "
        "instead of building one per request), and intake's side (signature check, replay "
        "cache, the pushed acknowledgements stored) about a fifth. Importing several items "
        "in one transaction would share the per-commit part, at the cost of the per-item "
        "isolation that `casework/bridge/imports.py` keeps on purpose: not done.",
        "",
    ]
