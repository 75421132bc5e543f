"""Crash safety: intake under load on PostgreSQL, killed with SIGKILL at random moments.

Intake runs as production runs it (``gunicorn -c ops/gunicorn/intake.conf.py``, two
workers, a real PostgreSQL). Several client threads send real multipart reports (some
with a small file) over HTTP while a seeded chaos thread kills, at random moments, a
worker (the master forks a new one), the master alone (its workers are orphaned, finish
what they serve and exit), or the master and every worker at once; after the last two it
starts intake again. A tipster whose request failed (reset, refused, 5xx) sends a new
report, as a person would: only an answer that showed a receipt counts as accepted.

Then, the promises:

- every receipt a tipster saw opens its report, which decrypts to exactly what was sent
  (text and files), and the tipster's own copy opens with the receipt's key;
- nothing is half-written: every row has its complete body, every receipt its report,
  and once the crashes' leftovers are old enough intake's start-up sweep leaves no body
  without a row and nothing in ``incoming/``;
- the bridge (casework on a PostgreSQL of its own, in-process) delivers every accepted
  report exactly once, never a broken one, never one nobody sent; reports whose answer
  was lost may or may not arrive, but never twice; two more cycles bring nothing new.

``LYKTA_CRASH_SUBMISSIONS`` sets how many receipts to collect: 300 in the suite (the
bridge's imports take the largest share of the time), 1000 for the issue's full run
(``make crash``, or ``LYKTA_CRASH_SUBMISSIONS=1000 pytest tests/ops/test_crash.py -s``;
about three and a half times as long). ``LYKTA_CRASH_SEED`` replays the kill plan. Both are
printed, with submissions per second, the kills, and what the crashes left behind.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import http.client
import io
import json
import os
import random
import re
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.bridge import CycleReport, IntakeClient, run_cycle
from casework.models import Case, CaseEnvelope
from common.serve import build_server
from intake import IntakeConfig
from intake.bridge.sync import create_app as create_sync
from intake.models import ReceiptRecord, StoredEnvelope
from tests.support.casework import services
from tests.support.instance import write_instance
from tests.support.served import Served, wait_for

SUBMISSIONS = int(os.environ.get("LYKTA_CRASH_SUBMISSIONS", "300"))
SEED = int(os.environ.get("LYKTA_CRASH_SEED", str(secrets.randbits(32))))
CLIENTS = 6
TIMEOUT = 60.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')


# --------------------------------------------------------------------------- tipsters


@dataclass
class Attempt:
    """One report a tipster tried to send, and what they saw."""

    marker: str
    files: list[tuple[str, bytes]]
    outcome: str = "unsent"  # "unsent" (the form never posted), "unknown", "accepted"
    receipt: str | None = None
    failure: str = ""  # why not accepted: the status or the exception's type


def _request(intake: Served, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    connection = intake.connection(TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def _cookie(headers: dict[str, str]) -> str:
    return headers["set-cookie"].split(";", 1)[0]


def _multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = f"lykta-{secrets.token_hex(12)}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
             f"{v}\r\n".encode() for k, v in fields.items()]
    for name, data in files or [("", b"")]:  # a browser sends an empty part for none
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                     f'filename="{name}"\r\nContent-Type: application/octet-stream'
                     "\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send_report(intake: Served, attempt: Attempt) -> None:
    """Fill in the form and send it, as a browser does; record what the tipster saw."""
    status, headers, page = _request(intake, "GET", "/submit")
    if status >= 500:
        attempt.failure = f"GET {status}"
        return
    assert status == 200, (status, page[:500])
    token = CSRF.search(page)
    assert token, page[:500]
    body, content_type = _multipart({
        "csrf_token": token.group(1), "category": "ethics", "agency": "Skatteverket",
        "agency_other": "", "what": attempt.marker, "when": "2026",
        "who": "Someone", "identity": "anonymous", "name": "", "contact": ""},
        attempt.files)
    attempt.outcome = "unknown"  # from here on, the report may be stored or not
    status, _, page = _request(intake, "POST", "/submit", body,
                               {"Content-Type": content_type, "Cookie": _cookie(headers)})
    if status >= 500:
        attempt.failure = f"POST {status}"
        return
    receipt = RECEIPT.search(page)
    assert status == 200 and receipt, (status, page[:500])  # any 4xx is the test's fault
    attempt.outcome, attempt.receipt = "accepted", receipt.group(1)


def kill_plan(rng: random.Random, receipts: int) -> list[tuple[int, str]]:
    """When to kill (after how many receipts) and how: at least one kill of each kind, one
    per hundred receipts, at moments drawn from ``rng``."""
    count = max(4, receipts // 100)
    kinds = ["worker", "master", "all"]
    rng.shuffle(kinds)
    kinds += [rng.choice(["worker", "master", "all"]) for _ in range(count - 3)]
    return sorted(zip(sorted(rng.sample(range(1, receipts), count)), kinds, strict=True))


@dataclass
class Load:
    """The tipsters and the chaos: shared state of the threads."""

    intake: Served
    up: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    attempts: list[Attempt] = field(default_factory=list)
    receipts: int = 0
    kills: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[BaseException] = field(default_factory=list)

    def reached(self, receipts: int) -> bool:
        """True once ``receipts`` receipts were shown, or the load is over."""
        return self.receipts >= receipts or self.done.is_set()

    def accepted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.outcome == "accepted"]

    def tipster(self, number: int) -> None:
        rng = random.Random(SEED * 100 + number)
        try:
            while not self.done.is_set():
                self.up.wait(TIMEOUT)
                files = ([(f"evidence-{rng.randrange(10**6)}.bin",
                           rng.randbytes(rng.randrange(1, 20_000)))]
                         if rng.random() < 0.3 else [])
                attempt = Attempt(f"crash-{SEED}-{number}-{secrets.token_hex(6)}", files)
                with self.lock:
                    self.attempts.append(attempt)
                try:
                    send_report(self.intake, attempt)
                except (OSError, http.client.HTTPException) as exc:
                    # Reset, refused, cut off: the tipster sends a new report, as a person
                    # would.
                    attempt.failure = type(exc).__name__
                with self.lock:
                    self.receipts += attempt.outcome == "accepted"
                    if self.receipts >= SUBMISSIONS:
                        self.done.set()
        except BaseException as exc:
            self.errors.append(exc)
            self.done.set()

    def chaos(self, rng: random.Random) -> None:
        """Kill as planned while the tipsters send; start intake again when it is down."""
        intake = self.intake
        try:
            for after, how in kill_plan(rng, SUBMISSIONS):
                wait_for(f"{after} receipts", functools.partial(self.reached, after),
                         TIMEOUT * 5)
                if self.done.is_set():
                    return
                # A moment inside whatever requests are being served right now.
                self.done.wait(rng.uniform(0, 0.25))
                self.kills[how] += 1
                if how == "worker":  # the master forks a new one
                    workers = wait_for("a worker", intake.worker_pids, TIMEOUT)
                    intake.kill_worker(rng.choice(workers))
                    continue
                self.up.clear()  # tipsters who come now wait for the restart
                if how == "master":
                    # Its orphans finish what they serve while the new master starts (it
                    # binds a new socket in the old one's place) and exit on their own.
                    intake.kill_master()
                else:
                    intake.kill_all()
                intake.start()
                self.up.set()
        except BaseException as exc:
            self.errors.append(exc)
            self.done.set()
        finally:
            self.up.set()  # no tipster waits for a restart that will not come


# --------------------------------------------------------------------------- checks


def opened(header: bytes, body: bytes | Path, key: crypto.PrivateKey) -> bytes:
    """An envelope's plaintext; raises if the body is incomplete or was tampered with."""
    out = io.BytesIO()
    with (body.open("rb") if isinstance(body, Path) else io.BytesIO(body)) as stream:
        crypto.open_stream(header, stream, out, key)
    return out.getvalue()


def check_intake_holds_every_receipt(session: Session, store: Path, config: IntakeConfig,
                                     load: Load, escrow: crypto.PrivateKey) -> None:
    """Every receipt shown opens its report, exactly as sent, the way intake finds it."""
    for attempt in load.accepted():
        assert attempt.receipt is not None
        keys = crypto.derive_receipt_keys(attempt.receipt, config.instance_salt,
                                          config.argon2)
        record = session.scalar(select(ReceiptRecord).where(
            ReceiptRecord.lookup_token == keys.lookup_token))
        assert record is not None, f"receipt shown but not stored: {attempt.marker}"
        by_kind: dict[str, list[StoredEnvelope]] = collections.defaultdict(list)
        for envelope in record.envelopes:
            by_kind[envelope.kind].append(envelope)
        (report,) = by_kind["report"]
        payload = json.loads(opened(report.header, store / report.id, escrow))
        assert payload["what"] == attempt.marker
        sent = dict(attempt.files)
        assert sorted(a["filename"] for a in payload["attachments"]) == sorted(sent)
        for listed in payload["attachments"]:
            (file,) = [e for e in by_kind["file"] if e.id == listed["envelope_id"]]
            assert opened(file.header, store / file.id, escrow) == sent[listed["filename"]]
        (own,) = by_kind["own-report"]
        assert json.loads(opened(own.header, store / own.id, keys.tipster_key))
        assert set(by_kind) <= {"report", "file", "own-report"}


def check_nothing_half_written(session: Session, store: Path,
                               escrow: crypto.PrivateKey) -> dict[str, int]:
    """Every row has its complete body (casework's opens with escrow); every receipt its
    report, own copy and listed files. Returns the rows per kind."""
    kinds: collections.Counter[str] = collections.Counter()
    for envelope in session.scalars(select(StoredEnvelope)):
        body = store / envelope.id
        assert body.is_file(), f"a row without its body: {envelope.kind}"
        assert body.stat().st_size == envelope.body_size
        if envelope.audience == "casework":
            opened(envelope.header, body, escrow)  # the tipster's copy needs the receipt
        kinds[envelope.kind] += 1
    for record in session.scalars(select(ReceiptRecord)):
        held = collections.Counter(e.kind for e in record.envelopes)
        (report,) = [e for e in record.envelopes if e.kind == "report"]
        files = json.loads(opened(report.header, store / report.id, escrow))["attachments"]
        assert held == {"report": 1, "own-report": 1, **({"file": len(files)} if files
                                                          else {})}
    return dict(kinds)


def stored_bodies(store: Path) -> set[str]:
    return {p.name for p in store.iterdir() if p.is_file()}


# --------------------------------------------------------------------------- the test


@pytest.fixture
def databases(new_postgres_database: Callable[[], str]) -> tuple[str, str]:
    return new_postgres_database(), new_postgres_database()


@pytest.fixture
def intake_served(tmp_path: Path, databases: tuple[str, str]) -> Iterator[Served]:
    logs = tmp_path / "logs"
    logs.mkdir()
    # A socket's path must be short (tmp_path may be too long).
    sockets = Path(tempfile.mkdtemp(prefix="lykta-crash-"))
    served = Served("intake", {"LYKTA_INSTANCE": str(tmp_path / "instance"),
                               "LYKTA_INTAKE_DATABASE_URL": databases[0]}, logs,
                    sockets / "intake.sock")
    try:
        yield served
    finally:
        served.stop()
        shutil.rmtree(sockets, ignore_errors=True)


@pytest.mark.slow
def test_intake_killed_at_random_keeps_every_receipt_and_delivers_each_once(
        tmp_path: Path, databases: tuple[str, str], intake_served: Served) -> None:
    test_started = time.monotonic()
    intake_url, casework_url = databases
    instance = tmp_path / "instance"
    _, escrow = write_instance(instance, crypto.INSECURE_FAST,
                               casework={"database_url": casework_url},
                               intake={"login_floor_seconds": 0})
    config = IntakeConfig.from_instance(instance, {"LYKTA_INTAKE_DATABASE_URL": intake_url})
    store = config.storage_path
    print(f"\ncrash test: seed {SEED}, {SUBMISSIONS} receipts, {CLIENTS} tipsters")

    # -- the load, and the kills --------------------------------------------------------
    intake_served.start()
    load = Load(intake_served)
    load.up.set()
    started = time.monotonic()
    threads = [threading.Thread(target=load.tipster, args=(n,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=load.chaos, args=(random.Random(SEED),)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(600, SUBMISSIONS))
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "the load did not finish"
    assert not load.errors, load.errors
    outcomes = collections.Counter(a.outcome for a in load.attempts)
    print(f"crash test: {outcomes['accepted']} receipts in {elapsed:.1f} s "
          f"({outcomes['accepted'] / elapsed:.1f} submissions/s), "
          f"{outcomes['unknown']} answers lost, {outcomes['unsent']} forms never posted; "
          f"kills: {dict(load.kills)} ({sum(load.kills.values())} in all); why not "
          f"accepted: {dict(collections.Counter(a.failure for a in load.attempts))}")
    assert outcomes["accepted"] >= SUBMISSIONS
    intake_served.kill_all()  # the last crash: nothing runs while the test reads
    intake_served.wait_gone(intake_served.strays)  # orphans of killed masters too

    engine = create_engine(intake_url)
    with Session(engine) as session:
        check_intake_holds_every_receipt(session, store, config, load, escrow)
        check_nothing_half_written(session, store, escrow)
        named = set(session.scalars(select(StoredEnvelope.id)))
    orphans = stored_bodies(store) - named
    leftovers = list((store / "incoming").iterdir())
    print(f"crash test: the crashes left {len(orphans)} bodies without a row and "
          f"{len(leftovers)} files in incoming/")

    # -- start-up sweeps what the crashes left, once it is old enough -------------------
    # The sweep spares young files on purpose (another worker may be about to commit
    # their rows); a day later every leftover is old. Time passes by moving mtimes back.
    past = time.time() - dt.timedelta(days=1).total_seconds()
    for path in [*store.iterdir(), *leftovers]:
        if path.is_file():
            os.utime(path, (past, past))
    intake_served.start()
    for attempt in load.accepted()[:3]:  # and the real sign-in opens the dialogue
        status, headers, page = _request(intake_served, "GET", "/login")
        token = CSRF.search(page)
        assert status == 200 and token
        status, _, page = _request(
            intake_served, "POST", "/login",
            urllib.parse.urlencode({"csrf_token": token.group(1),
                                    "receipt": attempt.receipt or ""}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded",
             "Cookie": _cookie(headers)})
        assert status == 302, (status, page[:500])
    intake_served.stop()
    assert stored_bodies(store) == named
    assert list((store / "incoming").iterdir()) == []

    # -- the bridge delivers each report once -------------------------------------------
    casework_app = create_casework(CaseworkConfig.from_instance(instance))
    casework = services(casework_app)
    sync_server = build_server(create_sync(config), "127.0.0.1", 0)
    serving = threading.Thread(target=sync_server.serve_forever, daemon=True)
    serving.start()
    try:
        client = IntakeClient(
            f"http://127.0.0.1:{sync_server.server_port}",
            crypto.SigningKey.from_seed((instance / "casework-signing.seed").read_bytes()),
            crypto.SigningKey.from_seed(config.sync_signing_seed or b"").verify_key)
        bridge_started = time.monotonic()
        cycles = 0
        while (report := run_cycle(casework, client, batch=100)).imported or (
                report.acknowledged):
            cycles += 1
            assert cycles < 100, "the bridge does not empty intake's outbox"
        print(f"crash test: the bridge took {cycles} cycles, "
              f"{time.monotonic() - bridge_started:.1f} s")
        for _ in range(2):  # nothing new
            assert run_cycle(casework, client, batch=100) == CycleReport(0, 0, 0)
    finally:
        sync_server.shutdown()
    with Session(engine) as session:
        assert session.scalars(select(StoredEnvelope).where(
            StoredEnvelope.audience == "casework")).all() == []
    engine.dispose()

    markers: collections.Counter[str] = collections.Counter()
    files_of: dict[str, list[bytes]] = collections.defaultdict(list)
    reports: dict[str, str] = {}
    with casework.db.session() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        for envelope in session.scalars(select(CaseEnvelope).where(
                CaseEnvelope.kind.in_(["report", "file"]))):
            plain = opened(envelope.header, casework.store.root / envelope.body_name, escrow)
            if envelope.kind == "report":
                marker = json.loads(plain)["what"]
                markers[marker] += 1
                reports[envelope.case_id] = marker
            else:
                files_of[envelope.case_id].append(plain)
    by_marker = {a.marker: a for a in load.attempts}
    assert [m for m, n in markers.items() if n > 1] == []  # never twice
    assert cases == len(markers)  # one case per report, none without its report
    assert {a.marker for a in load.accepted()} <= set(markers)  # every receipt, once
    assert {by_marker[m].outcome for m in markers} <= {"accepted", "unknown"}
    for case_id, marker in reports.items():  # each case's files are the ones sent
        assert sorted(files_of.get(case_id, [])) == sorted(d for _, d in
                                                           by_marker[marker].files)
    print(f"crash test: casework holds {len(markers)} reports: {outcomes['accepted']} "
          f"with a receipt, {len(markers) - outcomes['accepted']} whose answer was lost; "
          f"{time.monotonic() - test_started:.1f} s in all")
    casework.db.engine.dispose()
