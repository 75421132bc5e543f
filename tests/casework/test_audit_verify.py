"""`audit verify` catches every tampering done straight in the database, naming the first
bad entry: edits, deletions, reordering, insertions, truncation (the newest entries, and
entries together with their checkpoints), forged and foreign checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

import crypto
from casework.audit import chain, checkpoints
from casework.events import CaseRead, NoteAdded, SignedIn
from casework.models import AuditEntry

from .audit_support import check, checkpoint_seqs, emit, entries, sql
from .conftest import services

C, U = "c" * 32, "a" * 32


@pytest.fixture
def logged(casework: Flask) -> Flask:
    """Ten entries: eight units of one event, one unit of two (checkpoints 1-8 and 10)."""
    for n in range(8):
        emit(casework, CaseRead(C, f"{n:032d}"))
    emit(casework, SignedIn(U), NoteAdded(C, "e" * 32, U))
    assert [e.seq for e in entries(casework)] == list(range(1, 11))
    assert checkpoint_seqs(casework) == [*range(1, 9), 10]
    assert check(casework).ok
    return casework


def first_problem(app: Flask, **kwargs: object) -> tuple[int, str]:
    verdict = check(app, **kwargs)  # type: ignore[arg-type]
    assert verdict.problem is not None, "tampering went unnoticed"
    return verdict.problem.seq, verdict.problem.what


def rebuild_from(app: Flask, seq: int) -> None:
    """Recompute every hash from ``seq`` on, as an attacker without the key would."""
    rows = [e for e in entries(app) if e.seq >= seq]
    head = chain.Head(seq - 1, entries(app)[seq - 2].hash if seq > 1 else chain.GENESIS)
    for row in rows:
        digest = chain.entry_hash(head.hash, chain.canonical(
            row.seq, row.at, row.actor_id, row.action, row.case_id, row.details))
        sql(app, "UPDATE audit_entries SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=head.hash, h=digest, s=row.seq)
        head = chain.Head(row.seq, digest)


def test_an_empty_log_and_a_clean_log_verify(casework: Flask, logged: Flask) -> None:
    verdict = check(logged, batch=4)
    assert verdict.ok and verdict.entries == 10 and verdict.checkpoints == 9
    assert verdict.head.seq == 10 and verdict.head_file is not None
    assert verdict.head_file.seq == 10


def test_an_empty_log_verifies(make_casework: object, tmp_path: Path) -> None:
    app = make_casework()  # type: ignore[operator]
    verdict = check(app)
    assert verdict.ok and verdict.entries == 0


def test_an_edited_entry_is_named(logged: Flask) -> None:
    sql(logged, "UPDATE audit_entries SET actor_id = :a WHERE seq = 5", a="f" * 32)
    seq, what = first_problem(logged)
    assert seq == 5 and "altered" in what


@pytest.mark.parametrize("column,value", [("action", "case_read2"), ("case_id", "d" * 32),
                                          ("details", '{"envelope_id":"x"}')])
def test_every_field_is_covered_by_the_hash(logged: Flask, column: str, value: str) -> None:
    sql(logged, f"UPDATE audit_entries SET {column} = :v WHERE seq = 7", v=value)  # noqa: S608
    assert first_problem(logged) == (7, "altered: its contents do not match its hash")


def test_an_edited_time_is_named(logged: Flask) -> None:
    with services(logged).db.session() as db:
        row = db.get(AuditEntry, 3)
        assert row is not None
        row.at = row.at.replace(year=row.at.year - 1)
    assert first_problem(logged)[0] == 3


def test_an_edit_with_the_chain_rebuilt_is_caught_by_the_checkpoint(logged: Flask) -> None:
    sql(logged, "UPDATE audit_entries SET case_id = :c WHERE seq = 4", c="d" * 32)
    rebuild_from(logged, 4)
    seq, what = first_problem(logged)
    assert seq == 4 and "differs from what was signed" in what and "after 3" in what


def test_a_deleted_entry_is_named(logged: Flask) -> None:
    sql(logged, "DELETE FROM audit_entries WHERE seq = 6")
    seq, what = first_problem(logged)
    assert seq == 6 and "missing" in what and "from entry 5 to entry 7" in what


def test_a_deleted_entry_with_the_chain_renumbered_and_rebuilt_is_caught(
        logged: Flask) -> None:
    sql(logged, "DELETE FROM audit_entries WHERE seq = 6")
    sql(logged, "UPDATE audit_entries SET seq = -(seq - 1) WHERE seq > 6")
    sql(logged, "UPDATE audit_entries SET seq = -seq WHERE seq < 0")
    rebuild_from(logged, 6)
    seq, what = first_problem(logged)
    assert seq == 6 and "differs from what was signed" in what


def test_reordered_entries_are_named(logged: Flask) -> None:
    # Swap the rows of 4 and 5 (contents and hashes, keeping the numbers in place).
    sql(logged, "UPDATE audit_entries SET seq = -1 WHERE seq = 4")
    sql(logged, "UPDATE audit_entries SET seq = 4 WHERE seq = 5")
    sql(logged, "UPDATE audit_entries SET seq = 5 WHERE seq = -1")
    seq, what = first_problem(logged)
    assert seq == 4 and "out of place" in what


def test_an_inserted_entry_is_named(logged: Flask) -> None:
    # Make room at 5 and insert a well-chained entry there (hash and link correct).
    sql(logged, "UPDATE audit_entries SET seq = -(seq + 1) WHERE seq >= 5")
    sql(logged, "UPDATE audit_entries SET seq = -seq WHERE seq < 0")
    before = entries(logged)[3]
    forged = chain.chain_entry(chain.Head(4, before.hash),
                               chain.Draft("case_read", "b" * 32, C), before.at)
    with services(logged).db.session() as db:
        db.add(forged)
    seq, what = first_problem(logged)
    assert seq == 5 and "differs from what was signed" in what


def test_an_inserted_entry_without_a_checkpoint_nearby_is_named(casework: Flask) -> None:
    emit(casework, *[CaseRead(C, U) for _ in range(6)])  # one unit: checkpoint at 6 only
    sql(casework, "UPDATE audit_entries SET seq = -(seq + 1) WHERE seq >= 3")
    sql(casework, "UPDATE audit_entries SET seq = -seq WHERE seq < 0")
    before = entries(casework)[1]
    with services(casework).db.session() as db:
        db.add(chain.chain_entry(chain.Head(2, before.hash), chain.Draft("case_read", U, C),
                                 before.at))
    # The inserted entry 3 is well chained to 2; the old entry 3, now 4, is not to it.
    seq, what = first_problem(casework)
    assert seq == 4 and "out of place" in what


def test_the_newest_entry_deleted_is_named(logged: Flask) -> None:
    sql(logged, "DELETE FROM audit_entries WHERE seq = 10")
    seq, what = first_problem(logged)
    assert seq == 10 and "missing" in what and "ends at entry 9" in what


def test_the_newest_entry_edited_is_named(logged: Flask) -> None:
    sql(logged, "UPDATE audit_entries SET action = 'signed_out' WHERE seq = 10")
    assert first_problem(logged)[0] == 10


def test_entries_truncated_with_their_checkpoints_are_caught_by_the_head_file(
        logged: Flask) -> None:
    sql(logged, "DELETE FROM audit_entries WHERE seq > 7")
    sql(logged, "DELETE FROM audit_checkpoints WHERE seq > 7")
    seq, what = first_problem(logged)
    assert seq == 8 and "head file records entry 10" in what and "ends at entry 7" in what
    # Without the head file the shorter chain looks whole: that is what the file is for
    # (and why the head is published).
    assert check(logged, head_file=False).ok


def test_a_rewritten_chain_that_still_reaches_the_head_file_is_caught(logged: Flask) -> None:
    sql(logged, "DELETE FROM audit_checkpoints")
    sql(logged, "UPDATE audit_entries SET case_id = :c WHERE seq = 2", c="d" * 32)
    rebuild_from(logged, 2)
    seq, what = first_problem(logged)
    assert seq == 10 and "head file" in what


def test_a_forged_checkpoint_signature_is_named(logged: Flask) -> None:
    sql(logged, "UPDATE audit_checkpoints SET signature = :s WHERE seq = 3", s=bytes(64))
    seq, what = first_problem(logged)
    assert seq == 3 and "forged" in what


def test_a_checkpoint_signed_by_another_key_is_named(logged: Flask) -> None:
    other = crypto.SigningKey.generate()
    row = entries(logged)[2]
    signed = checkpoints.sign_head(other, chain.Head(3, row.hash))
    sql(logged, "UPDATE audit_checkpoints SET signature = :s, key_id = :k WHERE seq = 3",
        s=signed.signature, k=other.verify_key.raw.hex())
    seq, what = first_problem(logged)
    assert seq == 3 and "another key" in what
    # Claiming our key id with the other key's signature: a forgery.
    sql(logged, "UPDATE audit_checkpoints SET key_id = :k WHERE seq = 3",
        k=checkpoints.key_id(crypto.SigningKey.from_seed(
            services(logged).config.audit_signing_key_file.read_bytes()).verify_key))
    assert first_problem(logged)[0] == 3


def test_a_rebuilt_chain_with_rebuilt_checkpoints_needs_the_key(logged: Flask) -> None:
    other = crypto.SigningKey.generate()
    sql(logged, "UPDATE audit_entries SET case_id = :c WHERE seq = 2", c="d" * 32)
    rebuild_from(logged, 2)
    for row in entries(logged):
        signed = checkpoints.sign_head(other, chain.Head(row.seq, row.hash))
        sql(logged, "UPDATE audit_checkpoints SET hash = :h, signature = :s, key_id = :k "
            "WHERE seq = :q", h=row.hash, s=signed.signature, k=other.verify_key.raw.hex(),
            q=row.seq)
    assert first_problem(logged, head_file=False)[0] == 1  # checkpoint 1, another key


def test_an_entry_appended_past_the_application_is_unsigned(logged: Flask) -> None:
    last = entries(logged)[-1]
    with services(logged).db.session() as db:
        db.add(chain.chain_entry(chain.Head(10, last.hash), chain.Draft("signed_in", U),
                                 last.at))
    seq, what = first_problem(logged)
    assert seq == 11 and "unsigned" in what


def test_a_forged_head_file_is_refused(logged: Flask) -> None:
    path = services(logged).config.audit_head_file
    head = json.loads(path.read_text())
    head["seq"] = 9
    path.write_text(json.dumps(head))
    seq, what = first_problem(logged)
    assert seq == 9 and "not signed" in what
    path.write_text("not json")
    assert "cannot be read" in first_problem(logged)[1]


def test_the_head_file_never_goes_backwards(logged: Flask) -> None:
    path = services(logged).config.audit_head_file
    key = crypto.SigningKey.from_seed(
        services(logged).config.audit_signing_key_file.read_bytes())
    older = checkpoints.sign_head(key, chain.Head(3, entries(logged)[2].hash))
    checkpoints.write_head_file(path, older)  # a slow worker's commit finishing late
    assert json.loads(path.read_text())["seq"] == 10
    assert path.stat().st_mode & 0o777 == 0o600


def test_batches_of_one_find_the_same(logged: Flask) -> None:
    sql(logged, "DELETE FROM audit_entries WHERE seq = 6")
    assert check(logged, batch=1).problem == check(logged, batch=1000).problem
    with services(logged).db.session() as db:
        assert db.scalar(select(AuditEntry.seq).where(AuditEntry.seq == 6)) is None
