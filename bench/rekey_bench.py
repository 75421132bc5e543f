"""Benchmark: rekeying a case after a declared conflict of interest (issue 10).

Run from the repository root::

    .venv/bin/python -m bench.rekey_bench

A casework app on SQLite in a private temporary folder holds cases built directly in its
database and store (synthetic random content, no case data): a report and ten 10 MiB
files (the issue's case), and a case with one 100 MiB file (the same bytes in one
envelope: memory must not follow the file's size). Each case is sealed to three readers
and the escrow key; one reader declares a conflict and another rekeys the case with
``casework.conflicts.rekey_case`` in a unit of work, exactly as the "rekey now" button
does (the web request adds only a page render). Measured:

- wall time of the whole rekey (access check, reader tag, re-encryption of every body,
  the commit, the old bodies deleted), median of REPS cases;
- peak memory: the Python heap's peak (``tracemalloc``, on a case of its own, since
  tracing slows the run) and the process's peak RSS above its RSS before the rekey
  (``VmHWM`` after resetting it, Linux);
- baselines from the same run, on the same ciphertext: copying the bodies
  (``shutil.copyfile``: the disk's share), ``crypto.rekey`` file to file without the
  database (the envelope's share), and bare libsodium secretstream pull + push over the
  same sizes in memory (``crypto.baseline``: the cipher's share).

Results are printed and written (overwritten) to ``bench/results/rekey.md``. Nothing here
asserts a limit. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select

import crypto
from bench import harness
from bench.harness import MIB, Run, fmt_ms, fmt_size, md_table, version, versions
from casework import CaseworkConfig, create_app
from casework.conflicts import rekey_case
from casework.models import Case, CaseEnvelope, Conflict, Role, User
from casework.services import Casework
from crypto import baseline
from tests.support.casework import Staff, add_default_units, enrol, services

ARGON2 = crypto.INSECURE_FAST  # sign-in is not measured
CHUNK = crypto.DEFAULT_CHUNK_SIZE


@dataclass(frozen=True)
class Shape:
    """A case to rekey: how many files of what size."""

    label: str
    files: int
    file_size: int


@dataclass
class Measured:
    """One shape's numbers."""

    shape: Shape
    walls: list[float]
    envelopes: int
    heap_peak: int
    rss_growth_kib: int | None
    copy_walls: list[float]
    crypto_walls: list[float]
    raw_walls: list[float]


# --------------------------------------------------------------------------- the case


def build_app(root: Path, escrow: crypto.PrivateKey) -> tuple[Flask, dict[str, Staff]]:
    root.mkdir(parents=True, exist_ok=True)
    app = create_app(CaseworkConfig(
        instance_path=root, database_url=f"sqlite:///{root / 'casework.sqlite'}",
        secret_key=b"c" * 32, signing_key_path=root / "casework-signing.seed",
        argon2=ARGON2, escrow_public_key=escrow.public_key.raw))
    add_default_units(app)
    staff = {name: enrol(app, name, role, "etik") for name, role in (
        ("eva", Role.REVIEWER), ("erik", Role.REVIEWER), ("lars", Role.UNIT_LEAD))}
    return app, staff


def _seal_to_store(casework: Casework, recipients: list[crypto.PublicKey], kind: str,
                   fill: Callable[[crypto.EnvelopeWriter], None]) -> crypto.SealedEnvelope:
    path, out = casework.store.new_incoming()
    with out:
        writer = crypto.EnvelopeWriter(out, recipients, routing={"kind": kind})
        fill(writer)
        sealed = writer.close()
    casework.store.commit(path, sealed.envelope_id.hex())
    return sealed


def build_case(app: Flask, staff: dict[str, Staff], escrow: crypto.PrivateKey,
               shape: Shape) -> str:
    """A case of ``shape`` sealed to eva, erik, lars and escrow; erik declared a conflict."""
    casework = services(app)
    keys = [s.key.public_key for s in staff.values() if s.key is not None]
    recipients = [*keys, escrow.public_key]
    report = {"version": 1, "category": "ethics", "what": "Synthetic bench report.",
              "excluded_key_ids": [], "recipient_key_ids": [k.key_id_hex for k in keys],
              "attachments": [], "confidential": False}

    def report_text(writer: crypto.EnvelopeWriter) -> None:
        writer.write(json.dumps(report).encode())

    sealed_report = _seal_to_store(casework, recipients, "report", report_text)

    def random_file(writer: crypto.EnvelopeWriter) -> None:
        left = shape.file_size
        while left:
            piece = min(left, MIB)
            writer.write(os.urandom(piece))
            left -= piece

    files = [_seal_to_store(casework, recipients, "file", random_file)
             for _ in range(shape.files)]
    with casework.db.session() as db:
        case = Case(reference=f"LY-{secrets.token_hex(4).upper()}", unit_id="etik",
                    category="ethics", received_on=dt.date.today(),
                    tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                    intake_receipt_id=secrets.token_hex(16))
        db.add(case)
        db.flush()
        for sealed, kind in [(sealed_report, "report"), *((f, "file") for f in files)]:
            db.add(CaseEnvelope(id=sealed.envelope_id.hex(), case_id=case.id, kind=kind,
                                header=sealed.header, body_size=sealed.body_size,
                                origin="intake"))
        db.flush()
        erik = db.scalars(select(User).where(User.username == "erik")).one()
        db.add(Conflict(case_id=case.id, user_id=erik.id))
        return case.id


def body_paths(app: Flask, case_id: str) -> list[Path]:
    casework = services(app)
    with casework.db.session() as db:
        return [casework.store.root / e.body_name for e in db.scalars(
            select(CaseEnvelope).where(CaseEnvelope.case_id == case_id))]


def rekey_once(app: Flask, staff: dict[str, Staff], case_id: str) -> int:
    """Eva rekeys the case in a unit of work of its own; how many envelopes."""
    casework = services(app)
    with casework.unit() as work:
        eva = work.session.scalars(select(User).where(User.username == "eva")).one()
        done = rekey_case(casework, work.session, eva, staff["eva"].key, case_id)
    if done is None:
        raise RuntimeError("nothing was rekeyed")
    return done.envelopes


# --------------------------------------------------------------------------- baselines


def copy_bodies(paths: list[Path], into: Path) -> float:
    into.mkdir(exist_ok=True)
    start = time.perf_counter()
    for path in paths:
        shutil.copyfile(path, into / path.name)
    took = time.perf_counter() - start
    shutil.rmtree(into)
    return took


def rekey_files(app: Flask, staff: dict[str, Staff], case_id: str, into: Path) -> float:
    """``crypto.rekey`` of every body, file to file, no database: the envelope's share."""
    key = staff["eva"].key
    if key is None:
        raise RuntimeError("eva has no key")
    recipients = [s.key.public_key for s in staff.values() if s.key is not None]
    casework = services(app)
    with casework.db.session() as db:
        rows = [(e.header, casework.store.root / e.body_name) for e in db.scalars(
            select(CaseEnvelope).where(CaseEnvelope.case_id == case_id))]
    into.mkdir(exist_ok=True)
    start = time.perf_counter()
    for index, (header, path) in enumerate(rows):
        with path.open("rb") as body, (into / str(index)).open("wb") as out:
            crypto.rekey(header, body, out, key, recipients)
    took = time.perf_counter() - start
    shutil.rmtree(into)
    return took


def raw_secretstream(shape: Shape) -> float:
    """Bare secretstream pull + push of the same sizes, in memory (the cipher's share)."""
    key = secrets.token_bytes(32)
    data = os.urandom(shape.file_size)
    pieces: list[bytes] = []
    header = baseline.raw_push(data, key, CHUNK, pieces)
    ciphertext = b"".join(pieces)
    start = time.perf_counter()
    for _ in range(shape.files):
        baseline.raw_pull(header, ciphertext, key, CHUNK)
        baseline.raw_push(data, key, CHUNK)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- a shape


def measure(shape: Shape, root: Path, reps: int, run: Run) -> Measured:
    escrow = crypto.generate_escrow_key()
    app, staff = build_app(root, escrow)
    run.progress(f"{shape.label}: building {reps + 1} cases")
    cases = [build_case(app, staff, escrow, shape) for _ in range(reps + 1)]
    copy_walls, crypto_walls, raw_walls, walls = [], [], [], []
    envelopes = 0
    for case_id in cases[:reps]:
        copy_walls.append(copy_bodies(body_paths(app, case_id), root / "copy"))
        crypto_walls.append(rekey_files(app, staff, case_id, root / "rekeyed"))
        raw_walls.append(raw_secretstream(shape))
    rss_growth: int | None = None
    for index, case_id in enumerate(cases[:reps]):
        run.progress(f"{shape.label}: rekey {index + 1} of {reps}")
        before = harness.memory_kib().get("VmRSS")
        peak_reset = harness.reset_peak()
        start = time.perf_counter()
        envelopes = rekey_once(app, staff, case_id)
        walls.append(time.perf_counter() - start)
        after = harness.memory_kib().get("VmHWM")
        if peak_reset and before is not None and after is not None:
            rss_growth = max(rss_growth or 0, after - before)
    run.progress(f"{shape.label}: rekey under tracemalloc")
    tracemalloc.start()
    rekey_once(app, staff, cases[reps])
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measured(shape, walls, envelopes, heap_peak, rss_growth, copy_walls, crypto_walls,
                    raw_walls)


def _both(values: list[float]) -> str:
    return f"{fmt_ms(statistics.median(values))} ({fmt_ms(min(values))})"


def lines(results: list[Measured], reps: int) -> list[str]:
    rows = []
    for m in results:
        total = m.shape.files * m.shape.file_size
        best = min(m.walls)
        rows.append([
            m.shape.label, f"{m.envelopes}", _both(m.walls),
            f"{total / best / harness.MB:.0f} MB/s", _both(m.crypto_walls),
            _both(m.raw_walls), _both(m.copy_walls), f"{best / min(m.raw_walls):.2f}x",
            f"{m.heap_peak / MIB:.2f} MiB",
            f"{m.rss_growth_kib / 1024:.1f} MiB" if m.rss_growth_kib is not None else "-",
        ])
    return ["## 1. Rekey of a case after a declared conflict", "",
            f"Median (best) of {reps} cases per row; each case is rekeyed once. Chunk size "
            f"{fmt_size(CHUNK)}. Baselines on the same bytes, same run. Throughput and the "
            "ratio use the best times (the least disturbed by other load).", "",
            *md_table(["Case", "Envelopes", "Rekey (whole)", "Throughput (best)",
                       "crypto.rekey only", "Bare secretstream", "Copy the bodies",
                       "Rekey / bare (best)", "Python heap peak", "RSS growth (peak)"],
                      rows)]


def notes() -> list[str]:
    return ["## 2. What the columns mean", "",
            "- **Rekey (whole)**: `casework.conflicts.rekey_case` in a unit of work: the "
            "access check, the reader tag, every body re-encrypted to `incoming/`, the "
            "claim, the moves, the commit and the old bodies deleted after it.",
            "- **crypto.rekey only**: the same envelopes re-encrypted file to file with "
            "`crypto.rekey`, no database: the envelope's own cost (padding, framing, "
            "authentication of the old body to its end).",
            "- **Bare secretstream**: libsodium's secretstream pull then push of the same "
            "sizes in memory (`crypto.baseline`): the cipher alone, no disk.",
            "- **Copy the bodies**: `shutil.copyfile` of the ciphertext: the disk's share.",
            "- **Python heap peak**: `tracemalloc`'s peak over a whole rekey (its own case; "
            "tracing slows the run, so not timed). **RSS growth**: the process's peak RSS "
            "during the rekey minus its RSS before (Linux `VmHWM`, reset first).",
            "- Memory must not follow the size: one 100 MiB file must cost what ten 10 MiB "
            "files cost. The plaintext passes one chunk at a time through a bounded pipe."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, "ten 64 KiB files and one 640 KiB file, one case each")
    parser.add_argument("--reps", type=int, default=5, help="cases rekeyed per row")
    args = parser.parse_args(argv)
    run = Run("rekey", args)
    reps = 1 if run.quick else args.reps
    shapes = [Shape("ten 64 KiB files", 10, 64 * 1024),
              Shape("one 640 KiB file", 1, 640 * 1024)] if run.quick else [
        Shape("ten 10 MiB files", 10, 10 * MIB), Shape("one 100 MiB file", 1, 100 * MIB)]
    results: list[Measured] = []
    out = [*run.heading("Lykta rekey after a conflict of interest"), *harness.machine_lines([
        ["PyNaCl / libsodium", f"{version('PyNaCl')}"],
        ["SQLAlchemy / SQLite library", f"{versions('sqlalchemy')} / {sqlite3.sqlite_version}"],
    ], harness.code_fingerprint(["casework/conflicts.py", "crypto/*.py", "common/storage.py"],
                                "casework/conflicts.py, crypto/, common/storage.py")), ""]

    def section(shape: Shape, work: Path) -> list[str]:
        results.append(measure(shape, work, reps, run))
        return []

    with run.workdir() as work, harness.LoadMeter() as load:
        for index, shape in enumerate(shapes):
            out += run.attempt(f"Rekey of {shape.label}",
                               functools.partial(section, shape, work / str(index)),
                               heading="## 1. Rekey of a case after a declared conflict")
            shutil.rmtree(work / str(index), ignore_errors=True)
    if results:
        out += [*lines(results, reps), ""]
    out += [load.line(), "", *notes(), ""]
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
