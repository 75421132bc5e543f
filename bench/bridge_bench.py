"""Benchmarks for the signed bridge: envelopes per second through ``run_cycle``, peak memory.

Run from the repository root::

    .venv/bin/python -m bench.bridge_bench

Intake's sync app runs in another process, served by gunicorn as in production (and, for
comparison, by the quiet Werkzeug server of ``common.serve.build_server`` that the demo
uses). This process runs ``casework.bridge.run_cycle`` against it over real loopback
HTTP: pull, fetch every body (streamed, signed digest), import into casework's SQLite and
storage, acknowledge, push casework's automatic acknowledgements back. The envelopes are
sealed with ``crypto.seal_stream`` and written straight into intake's store and database
(untimed): a receipt row per report, one ``StoredEnvelope`` row per body, as
``intake.reporting.submit_report`` leaves them, without its Argon2 run.

Peak memory is ``VmHWM`` of a fresh child process that runs one cycle moving one 1 GiB
envelope body (made on disk by ``seal_stream`` from a generator-backed reader; never held
in memory; deleted afterwards).

Results are printed and written (overwritten) to ``bench/results/bridge.md``. Nothing here
asserts a time limit: the numbers are for people to read. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import crypto
from bench import bridge_code, bridge_import, harness
from bench.harness import (
    GIB,
    HOST,
    KIB,
    MB,
    MIB,
    Run,
    fmt_ms,
    fmt_size,
    free_port,
    md_table,
    memory_kib,
    reset_peak,
    version,
    versions,
)
from tests.support.instance import write_instance
from tests.support.processes import process_tree, stop

ARGON2 = crypto.INSECURE_FAST  # staff enrolment only; nothing timed derives a key
BLOCK = 64 * KIB
REPORT_BYTES = 1 * KIB
FILE_BYTES = 10 * MIB
BIG_BYTES = 1 * GIB


class BenchError(RuntimeError):
    """Something did not behave (a server did not start, a cycle moved the wrong count)."""


# --------------------------------------------------------------------------- helpers


def bridge_machine() -> list[str]:
    return harness.machine_lines([
        ["gunicorn / Flask / Werkzeug", versions("gunicorn", "flask", "werkzeug")],
        ["SQLAlchemy / SQLite library", f"{version('sqlalchemy')} / {sqlite3.sqlite_version}"],
        ["PyNaCl", version("PyNaCl")],
        ["Storage", f"temporary folder {tempfile.gettempdir()} "
                    f"({_filesystem(Path(tempfile.gettempdir()))})"],
    ], harness.code_fingerprint(bridge_code.CODE, bridge_code.CODE_LABEL))


def _filesystem(path: Path) -> str:
    best, kind = "", "unknown filesystem"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                _, mount, fstype, *_ = line.split()
                if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                    best, kind = mount, fstype
    except OSError:
        pass
    return kind


class GeneratedSource:
    """``total`` bytes made on demand (a random block with a counter): never all in memory."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._block = os.urandom(BLOCK)
        self._counter = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise ValueError("refusing to read everything at once")
        size = min(size, self._left, BLOCK)
        self._counter += 1
        self._left -= size
        return (self._counter.to_bytes(8, "big") + self._block[8:])[:size]


def sha256_seconds(size: int) -> float:
    """Seconds for hashlib's SHA-256 over ``size`` bytes in 64 KiB pieces (a floor)."""
    block, digest = os.urandom(BLOCK), hashlib.sha256()
    start = time.perf_counter()
    for _ in range(size // BLOCK):
        digest.update(block)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- the instance


@dataclass
class Instance:
    """One folder with both apps' configuration, as scripts/demo.py lays it out."""

    root: Path
    reviewer: crypto.PublicKey
    escrow: crypto.PublicKey
    units: list[str] = field(default_factory=list)
    _intake: Any = None
    _casework: Any = None

    @property
    def intake(self) -> Any:
        """Intake's database and store, for writing envelopes (no app, no Argon2)."""
        if self._intake is None:
            from common.db import Database
            from common.storage import EnvelopeStore
            from intake import IntakeConfig, migrate

            config = IntakeConfig.from_instance(self.root)
            migrate.upgrade(config.database_url)
            self._intake = (Database(config.database_url), EnvelopeStore(config.storage_path))
        return self._intake

    @property
    def casework(self) -> Any:
        """Casework's services, built the way ``casework.jobs.sync_job`` builds them."""
        if self._casework is None:
            from casework import CaseworkConfig, create_app
            from casework.services import EXTENSION

            app = create_app(CaseworkConfig.from_instance(self.root))
            self._casework = app.extensions[EXTENSION]
        return self._casework

    def set_sync_url(self, url: str) -> None:
        path = self.root / "casework.json"
        config = json.loads(path.read_text())
        config["intake_sync_url"] = url
        path.write_text(json.dumps(config))
        self._casework = None


def make_instance(root: Path, casework: dict[str, object] | None = None) -> Instance:
    staff, escrow = write_instance(root, ARGON2, casework)
    eva = staff["eva"].key
    if eva is None:
        raise BenchError("eva has no key after enrolment")
    return Instance(root, eva.public_key, escrow.public_key)


def new_receipt(instance: Instance) -> str:
    """A receipt row as submit_report leaves it (random tipster key; no Argon2 run)."""
    from intake.models import ReceiptRecord

    database, _ = instance.intake
    with database.session() as session:
        record = ReceiptRecord(lookup_token=secrets.token_bytes(32),
                               tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                               kdf=json.dumps(ARGON2.to_dict(), sort_keys=True), unit_id="etik",
                               recipient_key_ids=json.dumps([instance.reviewer.key_id_hex]))
        session.add(record)
        session.flush()
        receipt_id: str = record.id
    return receipt_id


def add_envelope(instance: Instance, receipt_id: str, kind: str, plaintext: int) -> int:
    """Seal ``plaintext`` generated bytes into intake's store for casework; body size."""
    from intake.models import StoredEnvelope

    database, store = instance.intake
    routing = {"kind": kind, **({"category": "ethics", "unit": "etik"}
                                if kind == "report" else {})}
    path, out = store.new_incoming()
    with out:
        sealed = crypto.seal_stream(GeneratedSource(plaintext), out,
                                    [instance.reviewer, instance.escrow], routing=routing)
    envelope_id = sealed.envelope_id.hex()
    with database.session() as session:
        store.commit(path, envelope_id)
        session.add(StoredEnvelope(id=envelope_id, receipt_id=receipt_id, audience="casework",
                                   kind=kind, header=sealed.header,
                                   body_size=sealed.body_size))
    body_size: int = sealed.body_size
    return body_size


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str

    def pids(self) -> list[int]:
        """The processes that serve requests (gunicorn: its workers, not the arbiter)."""
        tree = process_tree(self.process.pid)
        return tree[1:] or tree

    def stop(self) -> None:
        stop(self.process)


@contextmanager
def serve(instance: Instance, kind: str, log: Path) -> Iterator[Server]:
    """Intake's sync app in another process: ``gunicorn`` (2 sync workers, as production
    would run it) or ``werkzeug`` (common.serve.build_server, threaded, as the demo)."""
    instance.intake  # noqa: B018 (migrate the database before any worker starts)
    port = free_port()
    env = {**os.environ, "LYKTA_INSTANCE": str(instance.root)}
    if kind == "gunicorn":
        argv = [str(Path(sys.executable).with_name("gunicorn")), "--bind",
                f"{HOST}:{port}", "--workers", "2", "--timeout", "900", "--preload",
                bridge_code.SYNC_APP]
    else:
        argv = [sys.executable, "-m", "bench.bridge_bench", "--serve-werkzeug", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, cwd=harness.REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT)
    server = Server(kind, process, f"http://{HOST}:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise BenchError(f"{kind} exited with {process.returncode}: "
                                 f"{log.read_text(errors='replace')[-800:]}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"{kind} did not listen within 60 s") from None
                time.sleep(0.05)
        instance.set_sync_url(server.url)
        yield server
    finally:
        server.stop()


def _import_instance(root: Path, casework: dict[str, object] | None) -> tuple[Any, Any, Any]:
    """Section 3's instance: casework's services, eva's and the escrow's public keys."""
    instance = make_instance(root, casework)
    return instance.casework, instance.reviewer, instance.escrow


def serve_werkzeug(port: int) -> None:
    """Child: the sync app on the quiet threaded Werkzeug server."""
    from common.serve import build_server

    build_server(bridge_code.create_sync_app(), HOST, port).serve_forever()


# --------------------------------------------------------------------------- throughput


@dataclass
class Phases:
    """Seconds spent in each step of one cycle (wrappers around the client and import)."""

    pull: float = 0.0
    fetch: float = 0.0
    imported: float = 0.0
    ack: float = 0.0
    push: float = 0.0


def timed_cycle(instance: Instance, batch: int) -> tuple[float, Any, Phases]:
    """One run_cycle, timed as a whole and by phase."""
    services = instance.casework
    client = bridge_code.client_for(services)
    phases = Phases()

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(phases, name, getattr(phases, name) + time.perf_counter() - start)
        return inner

    for name, attr in (("pull", "pull"), ("fetch", "fetch"), ("ack", "ack"), ("push", "push")):
        setattr(client, attr, wrap(name, getattr(client, attr)))
    wrapped = wrap("imported", bridge_code.cycle_module.import_from_intake)
    with mock.patch.object(bridge_code.cycle_module, "import_from_intake", wrapped):
        start = time.perf_counter()
        report = bridge_code.run_cycle(services, client, batch=batch)
        took = time.perf_counter() - start
    return took, report, phases


@dataclass
class Row:
    label: str
    server: str
    per_cycle: int
    bytes_per_envelope: int
    cycles: list[float] = field(default_factory=list)
    phases: list[Phases] = field(default_factory=list)
    pushed: int = 0


def bench_reports(instance: Instance, server: str, rounds: int, batch: int) -> Row:
    row = Row(f"{fmt_size(REPORT_BYTES)} reports (new cases)", server, batch, 0)
    for _ in range(rounds):
        sizes = [add_envelope(instance, new_receipt(instance), "report", REPORT_BYTES)
                 for _ in range(batch)]
        row.bytes_per_envelope = int(statistics.mean(sizes))
        took, report, phases = timed_cycle(instance, batch)
        if (report.imported, report.acknowledged, report.pushed) != (batch, batch, batch):
            raise BenchError(f"a cycle of {batch} reports did {report}")
        row.cycles.append(took)
        row.phases.append(phases)
        row.pushed = report.pushed
    return row


def bench_files(instance: Instance, server: str, rounds: int, batch: int,
                file_bytes: int = FILE_BYTES) -> Row:
    row = Row(f"{fmt_size(file_bytes)} files (to an existing case)", server, batch, 0)
    receipt = new_receipt(instance)
    add_envelope(instance, receipt, "report", REPORT_BYTES)
    timed_cycle(instance, 50)  # its case (untimed)
    for _ in range(rounds):
        sizes = [add_envelope(instance, receipt, "file", file_bytes) for _ in range(batch)]
        row.bytes_per_envelope = int(statistics.mean(sizes))
        took, report, phases = timed_cycle(instance, batch)
        if (report.imported, report.acknowledged) != (batch, batch):
            raise BenchError(f"a cycle of {batch} files did {report}")
        row.cycles.append(took)
        row.phases.append(phases)
        # Keep the disk small: the imported bodies are not needed again.
        for body in instance.casework.store.root.iterdir():
            if body.is_file() and body.stat().st_size > file_bytes:
                body.unlink()
    return row


def throughput_lines(rows: list[Row], rounds: dict[str, int]) -> list[str]:
    table = []
    for row in rows:
        rates = [row.per_cycle / t for t in row.cycles]
        med = statistics.median(row.cycles)
        mbps = row.per_cycle * row.bytes_per_envelope / med / MB
        split = {name: statistics.median(getattr(p, name) for p in row.phases)
                 for name in ("pull", "fetch", "imported", "ack", "push")}
        table.append([
            row.label, row.server, f"{row.per_cycle} x {len(row.cycles)}",
            f"**{row.per_cycle / med:.1f}** ({max(rates):.1f})",
            f"{mbps:.1f}", fmt_ms(med / row.per_cycle),
            f"{fmt_ms(split['fetch'] / row.per_cycle)} / "
            f"{fmt_ms(split['imported'] / row.per_cycle)}",
            " / ".join(fmt_ms(split[name]) if split[name] else "not called"
                       for name in ("pull", "ack", "push")),
        ])
    return [
        "## 1. Envelopes per second through `run_cycle`",
        "",
        "Each cycle moves one batch over loopback HTTP from intake's sync app (another "
        "process) into casework (this process): pull, fetch each body (streamed to a spool "
        "file, SHA-256 checked against the signed header), import (copy into casework's "
        "store, one SQLite transaction per envelope; a report also creates its case and "
        "seals the automatic acknowledgement), ack, push the acknowledgements back. A "
        "report envelope carries 1 KiB of plaintext (1 KiB is also the Padmé minimum); a "
        "file envelope 10 MiB. Bodies are sealed to a reviewer and the escrow key. "
        "Envelopes per second: median cycle (best in parentheses); MB/s counts envelope "
        "body bytes (10^6 B/s) at the median. The phase columns are medians over the "
        f"cycles. Rounds: {', '.join(f'{k}: {v}' for k, v in rounds.items())}.",
        "",
        *md_table(["Envelopes", "Sync app served by", "Batch x cycles",
                   "Envelopes/s median (best)", "MB/s", "Per envelope",
                   "Fetch / import per envelope", "Pull / ack / push per cycle"], table),
        "",
        "What a fetch costs besides the bytes: one HTTP request, whose signature intake "
        "verifies, whose nonce it stores (replay cache) and whose time it records, in two "
        "SQLite transactions, before it hashes the body once and then streams it. A "
        "report's import is one SQLite transaction that also creates the case and seals "
        "the automatic acknowledgement; the acknowledgements go back in one push per cycle.",
    ]


# --------------------------------------------------------------------------- memory


def rss_probe(root: Path, max_body: int | None) -> None:
    """Child: one run_cycle moving the 1 GiB envelope; VmHWM before and after."""
    instance = Instance(root, crypto.PrivateKey.generate().public_key,
                        crypto.PrivateKey.generate().public_key)
    limit = bridge_code.MAX_BODY if max_body is None else max_body
    services = instance.casework
    client = bridge_code.client_for(services)
    pending = client.pull(50)  # warm: imports, connections, the pull path (metadata only)
    reset = reset_peak()
    before = memory_kib()
    start = time.perf_counter()
    outcome: dict[str, Any]
    try:
        with mock.patch.object(bridge_code.client_module, "MAX_BODY", limit):
            report = bridge_code.run_cycle(services, client)
        outcome = {"imported": report.imported, "acknowledged": report.acknowledged}
    except bridge_code.BridgeError as exc:
        outcome = {"error": f"BridgeError: {exc}"}
    took = time.perf_counter() - start
    after = memory_kib()
    stored = [p.stat().st_size for p in services.store.root.iterdir() if p.is_file()]
    print(json.dumps({"before": before, "after": after, "reset": reset, "seconds": took,
                      "pending": [int(i["body_size"]) for i in pending], "stored": stored,
                      "max_body": limit, **outcome}))


def rss_child(root: Path, max_body: int | None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.bridge_bench", "--rss-probe", str(root)]
    if max_body is not None:
        argv += ["--rss-max-body", str(max_body)]
    out = subprocess.run(argv, cwd=harness.REPO_ROOT, capture_output=True, text=True, check=False,
                         timeout=600)
    if out.returncode != 0:
        raise BenchError(f"RSS probe failed: {out.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench_memory(work: Path, progress: Callable[[str], None], big: int = BIG_BYTES
                 ) -> list[str]:
    instance = make_instance(work / "instance")
    log = work / "server.log"
    lines = ["## 2. Peak memory while one 1 GiB envelope crosses the bridge", ""]
    with serve(instance, "gunicorn", log) as server:
        receipt = new_receipt(instance)
        add_envelope(instance, receipt, "report", REPORT_BYTES)
        timed_cycle(instance, 50)  # its case exists before the big body arrives
        progress(f"   sealing {fmt_size(big)} into intake's store (streamed from a generator)")
        start = time.perf_counter()
        body_size = add_envelope(instance, receipt, "file", big)
        seal_s = time.perf_counter() - start
        # A new 1 KiB report from another tipster waits in the same outbox.
        add_envelope(instance, new_receipt(instance), "report", REPORT_BYTES)
        stock = bridge_code.MAX_BODY
        probes: list[tuple[str, dict[str, Any], dict[int, dict[str, int]]]] = []
        for label, max_body in ((f"stock limits (`MAX_BODY` = {fmt_size(stock)})", None),
                                ("`MAX_BODY` raised to 2 GiB in the child (bench only)",
                                 2 * GIB)):
            progress(f"   cycle in a fresh child: {label}")
            workers = server.pids()
            for pid in workers:
                reset_peak(pid)
            server_before = {pid: memory_kib(pid) for pid in workers}
            probe = rss_child(instance.root, max_body)
            server_after = {pid: memory_kib(pid) for pid in workers}
            growth = {pid: {"before": server_before[pid].get("VmHWM", 0),
                            "after": server_after[pid].get("VmHWM", 0)} for pid in workers}
            probes.append((label, probe, growth))
    rows = []
    for label, probe, server_growth in probes:
        before, after = probe["before"], probe["after"]
        grown = (after["VmHWM"] - before["VmHWM"]) / 1024
        moved = [size for size in probe.get("stored") or [] if size >= body_size]
        pulled = f"pulled {len(probe['pending'])}: "
        outcome = pulled + (
            f"imported {probe['imported']}; the {moved[0] / MIB:.1f} MiB body stored in "
            "casework" if "imported" in probe and moved else
            f"imported {probe.get('imported', 0)}, no large body stored"
            if "imported" in probe else f"imported 0; {probe['error']}")
        busiest = max(server_growth.values(), key=lambda g: g["after"] - g["before"])
        rows.append([
            label, outcome, f"{probe['seconds']:.1f} s",
            f"{before['VmHWM'] / 1024:.1f} MiB", f"{after['VmHWM'] / 1024:.1f} MiB",
            f"**{grown:.1f} MiB**", f"{grown * MIB / body_size:.5f}",
            f"{(busiest['after'] - busiest['before']) / 1024:+.1f} MiB "
            f"(peak {busiest['after'] / 1024:.0f} MiB)",
        ])
    lines += [
        f"One report (imported first) and then one {fmt_size(big)}-plaintext file "
        f"envelope ({body_size / MIB:.1f} MiB body on disk) sealed by `crypto.seal_stream` "
        f"from a generator-backed reader into intake's store in {seal_s:.1f} s (untimed); "
        "a 1 KiB report of another tipster waits in the same outbox. "
        "Intake's sync app: gunicorn, 2 sync workers. Each row is a fresh child process that "
        "builds casework as `sync_job` does, pulls once to warm up (metadata only), resets "
        "its peak (`/proc/self/clear_refs` = 5"
        + ("" if all(p["reset"] for _, p, _ in probes) else ", **unavailable: peak not "
           "reset**") + "), then runs one `run_cycle`. Peak = `VmHWM` from "
        "`/proc/self/status`. The sync app column is the growth of the peak of the busier "
        "gunicorn worker over the same cycle (reset the same way).",
        "",
        *md_table(["Run", "Outcome", "Cycle time", "Peak before", "Peak after",
                   "Peak growth", "Growth / body size", "Sync app worker peak growth"],
                  rows),
        "",
        "Notes:",
        "",
        f"- `common.sync_schema.MAX_BODY` is {fmt_size(stock)}: with the stock limits the "
        "1 GiB body is refused from its signed size header, before any of it is read, "
        "with the message shown, and the whole cycle fails: the small report pulled with "
        "it is not imported either, and both stay at intake, so every later cycle that "
        "pulls the large envelope fails the same way. Intake's default limits (520 MiB per "
        "request) keep its bodies below the limit, but `intake.json` can raise "
        "`max_request_bytes` and `max_file_bytes` and nothing ties them to `MAX_BODY`. The "
        "second run raises the limit in the child only, to measure memory over a real "
        "1 GiB transfer.",
        "- Both sides stream: the cycle's peak grows by a fraction of a MiB for a "
        "1 GiB body (spool file, SHA-256 and the copy into casework's store all go 64 KiB "
        "at a time), and so does the sync app worker's. The refused run's time is mostly "
        "intake hashing the whole body before it answers (the digest goes in the signed "
        "header; SHA-256 alone over 1 GiB takes "
        f"{sha256_seconds(big):.1f} s here), which it also does for every accepted "
        "fetch: a body is read twice at intake.",
    ]
    return lines


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, "one small batch on Werkzeug, a 4 MiB body through gunicorn")
    parser.add_argument("--serve-werkzeug", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rss-probe", help=argparse.SUPPRESS)
    parser.add_argument("--rss-max-body", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_werkzeug:
        serve_werkzeug(args.serve_werkzeug)
        return 0
    if args.rss_probe:
        rss_probe(Path(args.rss_probe), args.rss_max_body)
        return 0

    run = Run("bridge", args)
    report_rounds, file_rounds = (1, 1) if run.quick else (5, 3)
    report_batch, file_batch = (5, 2) if run.quick else (50, 10)
    out = [*run.heading("Lykta bridge benchmarks"), *bridge_machine(), ""]
    rows: list[Row] = []

    def throughput(instance: Instance, server: str) -> list[str]:
        run.progress(f"1. {fmt_size(REPORT_BYTES)} reports, sync app on {server}")
        rows.append(bench_reports(instance, server, report_rounds, report_batch))
        run.progress(f"1. files, sync app on {server}")
        rows.append(bench_files(instance, server, file_rounds, file_batch,
                                MIB if run.quick else FILE_BYTES))
        return []

    with run.workdir() as work:
        with harness.LoadMeter() as load:
            # A quick run serves the sync app once, on Werkzeug: gunicorn serves it in 2.
            for server in ("werkzeug",) if run.quick else ("gunicorn", "werkzeug"):
                instance = make_instance(work / f"throughput-{server}")
                with serve(instance, server, work / f"{server}.log"):
                    out += run.attempt(f"Throughput on {server}",
                                       functools.partial(throughput, instance, server))
                shutil.rmtree(work / f"throughput-{server}", ignore_errors=True)
        if rows:
            out += throughput_lines(rows, {"reports": report_rounds, "files": file_rounds})
        out += ["", load.line(), ""]

        run.progress("3. CPU per imported report, before and after")
        with harness.LoadMeter() as load:
            out += run.attempt("Import CPU", functools.partial(
                bridge_import.section, _import_instance, work, 10 if run.quick else 100,
                run.progress), heading="## 3. CPU per imported report")
        out += ["", load.line(), ""]

        big = 4 * MIB if run.quick else BIG_BYTES
        run.progress(f"2. peak memory, one {fmt_size(big)} envelope")
        with harness.LoadMeter() as load:
            out += run.attempt("Peak memory", functools.partial(
                bench_memory, work / "memory", run.progress, big), heading="## 2. Peak memory")
        out += ["", load.line(), ""]
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
