"""Retention without intake: which cases are due (per-unit periods, holds, duplicates), the
purge job and its command line, the archive copy, concurrent purges, the bytes left in the
database file and the store, and PostgreSQL."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from casework.config import MAX_RETENTION_DAYS
from casework.events import CasePurged, RetentionReviewed
from casework.models import AuditEntry, Case, IntakeCommand, LegalHold, User
from casework.retention import NotDue, OnHold, due_for_purge, purge_case
from casework.retention_jobs import purge_due
from tests.support.databases import checkpoint

from .conftest import services
from .events_support import record
from .retention_support import (
    TODAY,
    case_row,
    database_files,
    days_ago,
    envelope_rows,
    make_case,
    set_period,
    store_bytes,
)


def run(app: Flask, *args: str, answer: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args), input=answer)
    return result.exit_code, result.output


def hold(app: Flask, case_id: str) -> None:
    """A hold row (the hold's own path is tested with the views)."""
    with services(app).db.session() as db:
        someone = User(username="holder", display_name="Holder", password_hash="x")
        db.add(someone)
        db.flush()
        db.add(LegalHold(case_id=case_id, reason_code="legal-proceedings", placed_by=someone.id))


def test_due_follows_each_units_period_the_law_and_holds(casework: Flask) -> None:
    set_period(casework, "etik", 30)
    due_etik = make_case(casework, "etik", concluded_days_ago=30, items=1)  # due today
    young_etik = make_case(casework, "etik", concluded_days_ago=29, items=1)
    due_akt = make_case(casework, "akt", concluded_days_ago=730, items=1)  # the default
    young_akt = make_case(casework, "akt", concluded_days_ago=729, items=1)
    still_open = make_case(casework, "etik", concluded_days_ago=None, items=1)
    duplicate = make_case(casework, "etik", concluded_days_ago=None, items=1,
                          merged_into=due_etik.case_id)
    held = make_case(casework, "etik", concluded_days_ago=400, items=1)
    hold(casework, held.case_id)
    with services(casework).db.session() as db:
        listed = due_for_purge(db, services(casework).config, TODAY)
    assert {c.case_id for c in listed.due} == {due_etik.case_id, due_akt.case_id,
                                               duplicate.case_id}
    assert [c.case_id for c in listed.held] == [held.case_id]
    assert {young_etik.case_id, young_akt.case_id, still_open.case_id}.isdisjoint(
        {c.case_id for c in listed.due + listed.held})
    by_id = {c.case_id: c for c in listed.due}
    assert by_id[due_etik.case_id].due_on == TODAY
    assert by_id[duplicate.case_id].concluded_on == days_ago(30)  # its primary's day
    # A unit never keeps longer than the instance allows, whatever its row says.
    set_period(casework, "akt", MAX_RETENTION_DAYS)
    shorter = replace(services(casework).config, retention_days=100)
    with services(casework).db.session() as db:
        listed = due_for_purge(db, shorter, TODAY, units=frozenset({"akt"}))
    assert {c.case_id for c in listed.due} == {due_akt.case_id, young_akt.case_id}


def test_a_case_not_due_or_held_is_refused_and_unchanged(casework: Flask) -> None:
    young = make_case(casework, concluded_days_ago=10)
    still_open = make_case(casework, concluded_days_ago=None)
    held = make_case(casework, concluded_days_ago=800)
    hold(casework, held.case_id)
    casework_services = services(casework)
    for made, refused in ((young, NotDue), (still_open, NotDue), (held, OnHold)):
        with pytest.raises(refused), casework.app_context(), casework_services.unit() as work:
            case = work.session.get(Case, made.case_id)
            purge_case(casework_services, work.session, case)
        assert len(envelope_rows(casework, made.case_id)) == 2
        assert case_row(casework, made.case_id).purged_on is None


def test_the_purge_leaves_no_ciphertext_in_the_database_file_or_the_store(
        casework: Flask) -> None:
    made = make_case(casework, items=3, text="PURGE-MARKER " * 40)
    kept = make_case(casework, concluded_days_ago=10, items=1)
    store = services(casework).store
    headers = [e.header for e in envelope_rows(casework, made.case_id)]
    names = [e.body_name for e in envelope_rows(casework, made.case_id)]
    fragments = []
    for name in names:
        with store.open(name) as body:
            fragments.append(body.read()[100:164])  # ciphertext, past the chunk header
    checkpoint(services(casework).db.engine)
    before = database_files(casework)
    # The test can fail: before the purge the headers are in the file, the bodies on disk.
    assert all(h in before for h in headers)
    assert all(f in store_bytes(casework) for f in fragments)
    recorder = record(casework)
    report = purge_due(services(casework))  # the job: purge, then checkpoint
    assert report.purged == [made.reference] and report.envelopes == 3
    after = database_files(casework)
    for header, fragment in zip(headers, fragments, strict=True):
        assert header not in after and header[:48] not in after
        assert fragment not in after and fragment not in store_bytes(casework)
    assert not any((store.root / name).exists() for name in names)
    assert envelope_rows(casework, made.case_id) == []
    assert len(envelope_rows(casework, kept.case_id)) == 1  # another case is untouched
    [purged] = recorder.of(CasePurged)
    assert purged == CasePurged(made.case_id, 3)
    case = case_row(casework, made.case_id)
    assert case.purged_on == TODAY and case.readers_tag is None
    assert case.stage == "concluded" and case.outcome == "dismissed"  # statistics stay
    with services(casework).db.session() as db:
        [command] = db.scalars(select(IntakeCommand).where(
            IntakeCommand.case_id == made.case_id))
        assert command.kind == "forget-dialogue"
        assert json.loads(command.payload) == {"receipt_id": case.intake_receipt_id}
    # Idempotent: a second run finds nothing due and changes nothing.
    assert purge_due(services(casework)).purged == []
    assert len(recorder.of(CasePurged)) == 1


def test_the_command_line_lists_asks_and_purges(casework: Flask) -> None:
    due = make_case(casework, concluded_days_ago=731)
    held = make_case(casework, concluded_days_ago=900)
    hold(casework, held.case_id)
    make_case(casework, concluded_days_ago=5)
    recorder = record(casework)
    code, output = run(casework, "retention", "list")
    assert code == 0
    assert f"{due.reference}  etik  concluded {days_ago(731).isoformat()}  due " \
           f"{days_ago(1).isoformat()}  due" in output
    assert f"{held.reference}  etik" in output and "HELD" in output
    assert "1 cases due for purging; 1 held." in output
    assert recorder.of(RetentionReviewed) == [RetentionReviewed(due=2, held=1)]
    code, output = run(casework, "retention", "purge", answer="n\n")
    assert code != 0 and len(envelope_rows(casework, due.case_id)) == 2  # not confirmed
    code, output = run(casework, "retention", "purge", "--yes")
    assert code == 0 and f"{due.reference}: purged" in output
    assert "Purged 1 cases (2 envelopes); 0 refused." in output
    assert envelope_rows(casework, due.case_id) == []
    assert len(envelope_rows(casework, held.case_id)) == 2
    code, output = run(casework, "retention", "purge", "--yes")
    assert code == 0 and "Nothing is due for purging." in output
    code, output = run(casework, "audit", "verify")
    assert code == 0 and "Audit log intact" in output
    with services(casework).db.session() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(
            AuditEntry.case_id == due.case_id)))
    assert actions == ["case_purged"]
    # The scheduled job builds its own app from the instance folder (no Redis: in-process).
    instance = services(casework).config.instance_path
    (instance / "casework.json").write_text(json.dumps(
        {"secret_key": base64.b64encode(b"c" * 32).decode(),
         "database_url": services(casework).config.database_url}))
    later = make_case(casework, concluded_days_ago=800)
    code, output = run(casework, "retention", "schedule", "--every", "1", "--count", "1")
    assert code == 0 and f"'purged': ['{later.reference}']" in output, output
    assert envelope_rows(casework, later.case_id) == []


def test_the_archive_copy_is_sealed_complete_and_written_first(
        make_casework: Callable[..., Flask], tmp_path: Path) -> None:
    archive = tmp_path / "arkiv"
    app = make_casework(archive_path=archive)
    made = make_case(app, items=2, text="ARCHIVE-MARKER")
    rows = envelope_rows(app, made.case_id)
    bodies = {}
    for row in rows:
        with services(app).store.open(row.body_name) as body:
            bodies[row.id] = body.read()
    assert purge_due(services(app)).purged == [made.reference]
    folder = archive / made.reference
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["reference"] == made.reference and manifest["outcome"] == "dismissed"
    assert {e["id"]: e["kind"] for e in manifest["envelopes"]} == {
        r.id: r.kind for r in rows}
    for row in rows:
        assert (folder / f"{row.id}.header").read_bytes() == row.header
        assert (folder / f"{row.id}.body").read_bytes() == bodies[row.id]
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in folder.iterdir())
    assert not any(b"ARCHIVE-MARKER" in p.read_bytes() for p in folder.iterdir())  # sealed
    # An archive that cannot be written purges nothing.
    broken = make_casework(archive_path=tmp_path / "not-a-folder")
    (tmp_path / "not-a-folder").write_text("a file")
    other = make_case(broken)
    report = purge_due(services(broken))
    assert report.refused == [other.reference] and report.purged == []
    assert len(envelope_rows(broken, other.case_id)) == 2
    assert case_row(broken, other.case_id).purged_on is None


def test_two_purges_of_one_case_at_once_purge_it_once(casework: Flask) -> None:
    made = make_case(casework, items=3)
    casework_services = services(casework)
    recorder = record(casework)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def purge() -> None:
        barrier.wait()
        try:
            with casework.app_context(), casework_services.unit() as work:
                case = work.session.get(Case, made.case_id)
                assert case is not None
                results.append(purge_case(casework_services, work.session, case))
        except Exception as exc:  # a refusal is an acceptable answer too
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [3, None]
    assert len(recorder.of(CasePurged)) == 1
    assert envelope_rows(casework, made.case_id) == []
    with casework_services.db.session() as db:
        assert len(list(db.scalars(select(IntakeCommand).where(
            IntakeCommand.case_id == made.case_id)))) == 1
    assert run(casework, "audit", "verify")[0] == 0


def test_purging_on_postgresql(make_casework: Callable[..., Flask],
                               new_postgres_database: Callable[[], str]) -> None:
    app = make_casework(database_url=new_postgres_database())
    made = make_case(app, items=2)
    young = make_case(app, concluded_days_ago=3)
    names = [e.body_name for e in envelope_rows(app, made.case_id)]
    report = purge_due(services(app))  # then VACUUM, outside a transaction
    assert report.purged == [made.reference]
    assert envelope_rows(app, made.case_id) == []
    assert not any((services(app).store.root / n).exists() for n in names)
    assert len(envelope_rows(app, young.case_id)) == 2
    assert case_row(app, made.case_id).purged_on == TODAY
    assert run(app, "audit", "verify")[0] == 0
