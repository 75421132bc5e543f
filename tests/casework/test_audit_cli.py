"""`flask --app casework audit verify | head | export`, and the command line's own
actions (units) reaching the log."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask import Flask

import crypto
from casework.audit import checkpoints
from casework.events import CaseRead

from .audit_support import emit, entries, sql
from .conftest import services


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_verify_says_intact_then_names_the_first_bad_entry(casework: Flask) -> None:
    for _ in range(4):
        emit(casework, CaseRead("c" * 32, "a" * 32))
    code, output = run(casework, "audit", "verify", "--batch", "2")
    last = entries(casework)[-1].seq
    assert code == 0 and f"Audit log intact: {last} entries" in output
    sql(casework, "DELETE FROM audit_entries WHERE seq = :s", s=last - 1)
    code, output = run(casework, "audit", "verify")
    assert code == 1
    assert f"entry {last - 1}: missing: the chain jumps from entry {last - 2}" in output


def test_head_prints_the_signed_head_for_publication(casework: Flask) -> None:
    emit(casework, CaseRead("c" * 32, "a" * 32))
    code, output = run(casework, "audit", "head")
    assert code == 0, output
    head = json.loads(output)
    last = entries(casework)[-1]
    assert head["seq"] == last.seq and head["hash"] == last.hash.hex()
    published = checkpoints.SignedHead.from_json(head)
    key = crypto.VerifyKey(published.verify_key)
    assert checkpoints.signature_holds(key, published.seq, published.hash, published.signature)
    assert head == json.loads(services(casework).config.audit_head_file.read_text())
    # A newest entry without its checkpoint: no head is printed as if it were signed.
    sql(casework, "DELETE FROM audit_checkpoints WHERE seq = :s", s=last.seq)
    code, output = run(casework, "audit", "head")
    assert code != 0 and "audit verify" in output


def test_export_writes_the_filtered_log(casework: Flask, tmp_path: Path) -> None:
    emit(casework, CaseRead("c" * 32, "a" * 32), CaseRead("d" * 32, "a" * 32))
    code, output = run(casework, "audit", "export", "--format", "csv", "--case", "d" * 32)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [(r["action"], r["case_id"]) for r in rows] == [("case_read", "d" * 32)]
    out = tmp_path / "log.json"
    code, _ = run(casework, "audit", "export", "--format", "json", "--out", str(out))
    assert code == 0
    assert [r["seq"] for r in json.loads(out.read_text())] == [
        e.seq for e in entries(casework)]
    code, output = run(casework, "audit", "export", "--since", "not a date")
    assert code != 0 and "--since" in output


def test_units_added_on_the_command_line_are_logged(casework: Flask) -> None:
    code, _ = run(casework, "units", "add", "hr", "--sv", "Personal", "--en", "HR",
                  "--alternate", "etik")
    assert code == 0
    added = [e for e in entries(casework) if e.action == "unit_added"]
    assert json.loads(added[-1].details) == {"unit_id": "hr", "alternate_unit_id": "etik",
                                             "receives_reports": True}
