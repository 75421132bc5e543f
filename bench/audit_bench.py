"""Benchmark: verifying the audit log's hash chain (issue 10).

Run from the repository root::

    .venv/bin/python -m bench.audit_bench

A casework database on SQLite (migrated to head, in a private temporary folder) gets a
chain of 1,000,000 entries inserted in bulk with the real chain functions
(``casework.audit.chain``: canonical form, SHA-256 link), not through Flask, with a signed
checkpoint every CHECKPOINT_EVERY entries (the app signs one per unit of work) and the head
file. Then ``casework.audit.verify.verify_database`` checks it exactly as
``flask --app casework audit verify`` does: every hash recomputed, every link, every
checkpoint's Ed25519 signature, the head file, in batches of short transactions.

Measured: wall time and peak memory (the process's peak RSS above its RSS before the
verification, ``VmHWM`` after resetting it, Linux). Baselines from the same run:

- reading the same rows in the same batches without checking anything (the database's
  share);
- building the same canonical bytes and hashing them, without the database (the chain's
  share in Python);
- SHA-256 alone over the same bytes, prebuilt (hashlib's share), on a slice;
- one Ed25519 checkpoint verification (so the cost of denser checkpoints can be read off).

Results are printed and written (overwritten) to ``bench/results/audit.md``. Nothing here
asserts a limit. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import insert, select

import crypto
from bench import harness
from bench.harness import Run, fmt_ms, fmt_size, md_table, versions
from casework import migrate
from casework.audit import chain, checkpoints
from casework.audit.verify import BATCH, verify_database
from casework.models import AuditCheckpoint, AuditEntry
from common.db import Database

ENTRIES = 1_000_000
QUICK_ENTRIES = 10_000
CHECKPOINT_EVERY = 100
INSERT_BATCH = 20_000
ACTIONS = ("case_read", "file_downloaded", "signed_in", "note_added", "stage_changed")
START = dt.datetime(2026, 1, 1)


def _values(seq: int) -> tuple[dt.datetime, str | None, str, str | None, str]:
    """Realistic, deterministic entry values (ids and codes, as the app logs)."""
    action = ACTIONS[seq % len(ACTIONS)]
    actor = f"{seq % 97:032x}"
    case_id = None if action == "signed_in" else f"{seq % 5003:032x}"
    details = chain.canonical_details(
        {"envelope_id": f"{seq:032x}"} if action in ("file_downloaded", "note_added") else
        {"from_stage": "received", "reason_code": "assessed", "to_stage": "acknowledged"}
        if action == "stage_changed" else {})
    return START + dt.timedelta(microseconds=seq * 1_234_567), actor, action, case_id, details


def _canonical(seq: int) -> bytes:
    at, actor, action, case_id, details = _values(seq)
    return chain.canonical(seq, at, actor, action, case_id, details)


def build(database: Database, entries: int, key: crypto.SigningKey,
          head_file: Path, run: Run) -> float:
    """Insert the chain (and its checkpoints and head file); seconds taken."""
    started = time.perf_counter()
    head = chain.Head(0, chain.GENESIS)
    signed = None
    for first in range(1, entries + 1, INSERT_BATCH):
        rows, marks = [], []
        for seq in range(first, min(first + INSERT_BATCH, entries + 1)):
            at, actor, action, case_id, details = _values(seq)
            digest = chain.entry_hash(head.hash, chain.canonical(seq, at, actor, action,
                                                                 case_id, details))
            rows.append({"seq": seq, "at": at, "actor_id": actor, "action": action,
                         "case_id": case_id, "details": details, "prev_hash": head.hash,
                         "hash": digest})
            head = chain.Head(seq, digest)
            if seq % CHECKPOINT_EVERY == 0 or seq == entries:
                signed = checkpoints.sign_head(key, head)
                marks.append({"seq": seq, "hash": digest, "signature": signed.signature,
                              "key_id": signed.verify_key.hex(), "signed_at": START})
        with database.session() as session:
            session.execute(insert(AuditEntry), rows)
            session.execute(insert(AuditCheckpoint), marks)
        if first % 200_000 == 1:
            run.progress(f"  built {first + len(rows) - 1:,} entries")
    if signed is not None:
        checkpoints.write_head_file(head_file, signed)
    return time.perf_counter() - started


def _read_only(database: Database) -> Iterator[object]:
    after = 0
    while True:
        with database.session() as session:
            rows = session.execute(select(
                AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.action,
                AuditEntry.case_id, AuditEntry.details, AuditEntry.prev_hash,
                AuditEntry.hash).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                .limit(BATCH)).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1].seq


def measured(action: object) -> tuple[float, int, object]:
    """(seconds, peak RSS growth in bytes, result) of ``action()``."""
    harness.reset_peak()
    before = harness.memory_kib().get("VmRSS", 0)
    started = time.perf_counter()
    result = action()  # type: ignore[operator]
    took = time.perf_counter() - started
    peak = harness.memory_kib().get("VmHWM", 0)
    return took, max(0, peak - before) * 1024, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, f"{QUICK_ENTRIES:,} entries")
    args = parser.parse_args(argv)
    run = Run("audit", args)
    entries = QUICK_ENTRIES if run.quick else ENTRIES
    out = [*run.heading("Lykta audit log verification"), *harness.machine_lines([
        ["SQLAlchemy / SQLite library",
         f"{versions('sqlalchemy')} / {sqlite3.sqlite_version}"],
    ], harness.code_fingerprint(["casework/audit/*.py", "crypto/signing.py"],
                                "casework/audit/, crypto/signing.py")), ""]

    def section(work: Path) -> list[str]:
        url = f"sqlite:///{work / 'casework.sqlite'}"
        migrate.upgrade(url)
        database = Database(url)
        key = crypto.SigningKey.generate()
        head_file = work / "audit-head.json"
        run.progress(f"building a chain of {entries:,} entries")
        built = build(database, entries, key, head_file, run)
        size = (work / "casework.sqlite").stat().st_size
        run.progress("verifying")
        took, peak, verdict = measured(lambda: verify_database(
            database, key.verify_key, head_file))
        assert verdict.ok and verdict.entries == entries, verdict  # type: ignore[attr-defined]
        run.progress("baselines")
        read, read_peak, _ = measured(lambda: sum(1 for _ in _read_only(database)))

        def hash_in_memory() -> bytes:
            head = chain.GENESIS
            for seq in range(1, entries + 1):
                head = chain.entry_hash(head, _canonical(seq))
            return head

        hashed, _, _ = measured(hash_in_memory)
        slice_size = min(entries, 100_000)
        prebuilt = [_canonical(seq) for seq in range(1, slice_size + 1)]
        started = time.perf_counter()
        head = chain.GENESIS
        for data in prebuilt:
            head = hashlib.sha256(head + data).digest()
        sha_only = (time.perf_counter() - started) * entries / slice_size
        signature = checkpoints.sign_head(key, chain.Head(1, head))
        started = time.perf_counter()
        for _ in range(2000):
            checkpoints.signature_holds(key.verify_key, 1, head, signature.signature)
        per_signature = (time.perf_counter() - started) / 2000
        marks = entries // CHECKPOINT_EVERY
        rows = [
            ["`audit verify` (verify_database): hashes, links, "
             f"{verdict.checkpoints:,} signatures, head file",  # type: ignore[attr-defined]
             fmt_ms(took), f"{entries / took:,.0f}", fmt_size(peak)],
            ["baseline: read the same rows in the same batches, no checks", fmt_ms(read),
             f"{entries / read:,.0f}", fmt_size(read_peak)],
            ["baseline: canonical bytes + SHA-256 link, no database", fmt_ms(hashed),
             f"{entries / hashed:,.0f}", "n/a"],
            [f"baseline: SHA-256 link alone over prebuilt bytes (from {slice_size:,})",
             fmt_ms(sha_only), f"{entries / sha_only:,.0f}", "n/a"],
        ]
        return [
            f"## 1. Verifying a chain of {entries:,} entries", "",
            f"SQLite database of {fmt_size(size)}; chain built in bulk in "
            f"{fmt_ms(built)}; one checkpoint per {CHECKPOINT_EVERY} entries "
            f"({marks:,}); batches of {BATCH:,} entries, each its own transaction.", "",
            *md_table(["what", "wall time", "entries/s", "peak RSS growth"], rows), "",
            "## 2. One checkpoint signature", "",
            f"Ed25519 verification of one checkpoint: {per_signature * 1e6:.0f} µs. The "
            "app signs one checkpoint per unit of work that appended, so a log whose "
            f"units appended one entry each adds about {per_signature * entries:.0f} s "
            f"of signature checks per {entries:,} entries to the time above.", ""]

    with run.workdir() as work, harness.LoadMeter() as load:
        out += run.attempt("Verifying the chain", lambda: section(work),
                           heading=f"## 1. Verifying a chain of {entries:,} entries")
    out += [load.line(), ""]
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
