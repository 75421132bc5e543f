"""Benchmark of intake served by gunicorn: submissions and sign-ins per second vs bare Argon2.

Run from the repository root::

    .venv/bin/python -m bench.intake_bench

It builds a throwaway instance (tempfile) with a signed recipient directory and an
``intake.json`` at production Argon2 cost, serves it with gunicorn on 127.0.0.1 (a child
process, stopped at the end), and drives it from client threads in this process. Every
report and every sign-in costs exactly one Argon2 derivation, so the yardstick is the
rate of bare ``crypto.derive_receipt_keys`` calls on the same cores in the same run.

Results are printed and written (overwritten) to ``bench/results/intake.md``. Nothing
here asserts a time limit: the numbers are for people to read.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import http.client
import itertools
import json
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import crypto
from bench import harness
from bench.harness import (
    HOST,
    KIB,
    MIB,
    Run,
    fmt_ms,
    fmt_signed_ms,
    fmt_size,
    free_port,
    machine_busy,
    md_table,
    own_cpu,
    p50_p95,
    usable_cores,
    version,
    versions,
)
from common.directory import Listed, UnitEntry, build_directory, sign_directory
from intake.categories import CATEGORIES
from tests.support.processes import process_tree, stop

WORKERS = 2
THREADS = 4
FILE_BYTES = 10 * MIB
TEXT_BYTES = 1 * KIB
MAX_FILE_BYTES = 16 * MIB

CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
RECEIPT = re.compile(rb'id="receipt-code">([0-9A-Z-]+)<')
WHAT = ("The head of unit hired a relative without advertising the post, and the "
        "minutes of the hiring meeting were changed afterwards. ")


# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- CPU accounting


def _proc_cpu(pid: int, children_too: bool = False) -> float:
    """utime+stime (and reaped children's, if asked) of one process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # Fields after "(comm)": state=0, ... utime=11, stime=12, cutime=13, cstime=14.
    ticks = int(fields[11]) + int(fields[12])
    if children_too:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Snapshot:
    wall: float
    system: tuple[float, float] | None
    own: float
    server: float


@dataclass
class Usage:
    """Cores used during a window: gunicorn, this process (clients), everything else."""

    wall: float
    server: float = 0.0  # CPU seconds
    own: float = 0.0
    other_cores: float | None = None
    steal_cores: float | None = None

    @classmethod
    def between(cls, a: Snapshot, b: Snapshot) -> Usage:
        wall = b.wall - a.wall
        usage = cls(wall=wall, server=b.server - a.server, own=b.own - a.own)
        if a.system and b.system and wall > 0:
            busy = b.system[0] - a.system[0]
            usage.other_cores = max(0.0, (busy - usage.own - usage.server) / wall)
            usage.steal_cores = (b.system[1] - a.system[1]) / wall
        return usage

    def cores(self) -> str:
        other = "?" if self.other_cores is None else f"{self.other_cores:.2f}"
        return f"{self.server / self.wall:.2f} / {self.own / self.wall:.2f} / {other}"

    def busy_machine(self) -> bool:
        return (self.other_cores or 0) > 0.25 or (self.steal_cores or 0) > 0.1


# --------------------------------------------------------------------------- the instance


def make_instance(root: Path, concurrency: int, argon2: crypto.Argon2Params
                  ) -> dict[str, object]:
    """Write keys, a signed directory and intake.json into ``root``; migrate the database."""
    signing = crypto.SigningKey.generate()
    body = build_directory(
        serial=1,
        units=[
            UnitEntry("etik", {"sv": "Etikkommittén", "en": "Ethics committee"},
                      [Listed("Eva Etik", crypto.PrivateKey.generate().public_key),
                       Listed("Erik Etik", crypto.PrivateKey.generate().public_key)],
                      alternate_unit="akt"),
            UnitEntry("akt", {"sv": "Antikorruptionsteamet", "en": "Anti-corruption team"},
                      [Listed("Anna Akt", crypto.PrivateKey.generate().public_key)],
                      alternate_unit="etik"),
        ],
        routes={**{c: "etik" for c in CATEGORIES},
                "corruption": "akt", "procurement": "akt", "funds": "akt"},
        escrow=crypto.PrivateKey.generate().public_key,
        custodians=[Listed("Cecilia Custodian", crypto.PrivateKey.generate().public_key)],
        valid_for=datetime.timedelta(days=30),
    )
    (root / "directory.signed").write_bytes(sign_directory(body, signing))
    config: dict[str, object] = {
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "instance_salt": base64.b64encode(crypto.new_instance_salt()).decode(),
        "casework_verify_key": base64.b64encode(signing.verify_key.raw).decode(),
        "argon2": argon2.to_dict(),
        "argon2_concurrency": concurrency,
        "login_floor_seconds": 0,
        "max_file_bytes": MAX_FILE_BYTES,
    }
    (root / "intake.json").write_text(json.dumps(config, indent=2))
    # Build the app once here: it validates the setup and runs the migrations, so the
    # gunicorn workers do not both migrate a fresh database at the same moment.
    from intake import IntakeConfig, create_app

    app = create_app(IntakeConfig.from_instance(root))
    app.extensions["lykta.intake.db"].engine.dispose()
    return config


def _gunicorn_has(option: str) -> bool:
    out = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True,
                         text=True, check=False)
    return option in out.stdout


class Server:
    """gunicorn serving ``intake:create_app()`` for one instance folder, on loopback."""

    def __init__(self, instance: Path, log_path: Path) -> None:
        self.instance = instance
        self.port = free_port()
        self.log_path = log_path
        self.command = [
            sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--threads",
            str(THREADS), "--worker-class", "gthread", "--bind", f"{HOST}:{self.port}",
            "--graceful-timeout", "5", "--log-level", "info", "intake:create_app()",
        ]
        if _gunicorn_has("--no-control-socket"):
            # gunicorn >= 25 opens a control socket under ~/.gunicorn by default: a bench
            # has no use for it, and it must not collide with another gunicorn there.
            self.command.insert(-1, "--no-control-socket")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "LYKTA_INSTANCE": str(self.instance)}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command, cwd=harness.REPO_ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            booted = self.log_path.read_text(errors="replace").count("Booting worker")
            if booted >= WORKERS and self._get_ok():
                # Both workers are forked; give the slower one time to finish create_app
                # (warm-up periods in every run cover the rest).
                time.sleep(1.5)
                if self.proc.poll() is None and len(self.workers()) == WORKERS:
                    return
                continue
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready in time")

    def _get_ok(self) -> bool:
        try:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            conn.request("GET", "/submit")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def workers(self) -> list[int]:
        return process_tree(self.proc.pid)[1:] if self.proc else []

    def cpu(self) -> float:
        """CPU seconds of the master, its live workers and any workers it reaped."""
        if not self.proc:
            return 0.0
        return _proc_cpu(self.proc.pid, children_too=True) + sum(
            _proc_cpu(pid) for pid in self.workers())

    def worker_peak_rss(self) -> list[int]:
        """VmHWM of each live worker, in KiB."""
        peaks = []
        for pid in self.workers():
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            peaks.append(int(line.split()[1]))
            except (OSError, ValueError):
                pass
        return peaks

    def stop(self) -> None:
        stop(self.proc)


def snapshot(server: Server | None) -> Snapshot:
    return Snapshot(time.perf_counter(), machine_busy(), own_cpu(children=False),
                    server.cpu() if server else 0.0)


# --------------------------------------------------------------------------- the client


class Browser:
    """One tipster's browser: its own cookie jar, one connection per form round trip."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def open(self) -> None:
        self.close()
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _store_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.msg.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method: str, path: str, parts: list[bytes] | None = None,
                content_type: str | None = None) -> tuple[int, bytes, str]:
        """Send one request (body sent part by part, never copied); return status, body."""
        if self.conn is None:
            self.open()
        assert self.conn is not None
        self.conn.putrequest(method, path)
        if self.cookies:
            self.conn.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if parts is not None:
            self.conn.putheader("Content-Type", content_type or "application/octet-stream")
            self.conn.putheader("Content-Length", str(sum(len(p) for p in parts)))
        self.conn.endheaders()
        for part in parts or []:
            self.conn.send(part)
        response = self.conn.getresponse()
        body = response.read()
        self._store_cookies(response)
        if response.will_close:
            self.close()
        return response.status, body, response.getheader("Location") or ""


def multipart(fields: list[tuple[str, bytes]], file: tuple[str, bytes] | None
              ) -> tuple[list[bytes], str]:
    """A multipart/form-data body as parts (the file content is not copied)."""
    boundary = "----lyktabench" + secrets.token_hex(12)
    head = bytearray()
    for name, value in fields:
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                 ).encode() + value + b"\r\n"
    filename, content = file if file else ("", b"")
    # With no file chosen, browsers still send the part, with an empty filename.
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
             f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
             ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return [bytes(head), content, tail], f"multipart/form-data; boundary={boundary}"


@dataclass
class Sample:
    kind: str  # "GET /submit", "POST /submit", "GET /login", "POST /login"
    end: float
    seconds: float
    status: int | None  # None: no response (connection error)
    ok: bool


@dataclass
class RunResult:
    name: str
    samples: list[Sample] = field(default_factory=list)
    cycles: list[float] = field(default_factory=list)  # end time of each completed op
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    receipts: list[str] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)
    usage: Usage | None = None
    argon2_cpu: list[float] = field(default_factory=list)  # thread CPU per derivation

    def in_window(self, t: float) -> bool:
        return self.window[0] <= t < self.window[1]

    @property
    def completed(self) -> int:
        return sum(1 for t in self.cycles if self.in_window(t))

    @property
    def rate(self) -> float:
        return self.completed / (self.window[1] - self.window[0])

    def latencies(self, kind: str) -> list[float]:
        return [s.seconds for s in self.samples
                if s.kind == kind and s.ok and self.in_window(s.end)]

    def failures(self) -> tuple[int, int]:
        """(failed requests other than 503, 503 answers), over the whole run."""
        busy = sum(n for (_, status), n in self.statuses.items() if status == 503)
        failed = sum(1 for s in self.samples if not s.ok) - busy
        return failed, busy


def _timed(browser: Browser, result: RunResult, lock: threading.Lock, kind: str,
           fn: Callable[[], tuple[int, bytes, str]],
           check: Callable[[int, bytes, str], bool]) -> tuple[int, bytes, str] | None:
    start = time.perf_counter()
    try:
        status, body, location = fn()
    except (OSError, http.client.HTTPException) as exc:
        end = time.perf_counter()
        browser.close()
        with lock:
            result.samples.append(Sample(kind, end, end - start, None, False))
            result.errors[f"{kind}: {type(exc).__name__}"] += 1
        return None
    end = time.perf_counter()
    ok = check(status, body, location)
    with lock:
        result.samples.append(Sample(kind, end, end - start, status, ok))
        result.statuses[(kind, status)] += 1
        if not ok and status != 503:
            result.errors[f"{kind}: HTTP {status}"] += 1
    return (status, body, location) if ok else None


def _form_token(browser: Browser, result: RunResult, lock: threading.Lock, path: str
                ) -> bytes | None:
    """Open a new connection and GET the form at ``path``: its CSRF token, or None."""
    browser.open()
    got = _timed(browser, result, lock, f"GET {path}", lambda: browser.request("GET", path),
                 lambda s, b, _loc: s == 200 and CSRF.search(b) is not None)
    token = CSRF.search(got[1]) if got else None
    return token.group(1) if token else None


def _post_form(browser: Browser, result: RunResult, lock: threading.Lock, path: str,
               parts: list[bytes], content_type: str,
               check: Callable[[int, bytes, str], bool]) -> tuple[int, bytes, str] | None:
    """POST the form on the same connection, then close it: the answer if ``check`` passed."""
    got = _timed(browser, result, lock, f"POST {path}",
                 lambda: browser.request("POST", path, parts, content_type), check)
    browser.close()
    return got


def report_cycle(file: tuple[str, bytes] | None) -> Callable[..., None]:
    what = (WHAT * (TEXT_BYTES // len(WHAT) + 1))[:TEXT_BYTES].encode()

    def cycle(browser: Browser, result: RunResult, lock: threading.Lock) -> None:
        token = _form_token(browser, result, lock, "/submit")
        if token is None:
            return
        fields = [("csrf_token", token), ("category", b"ethics"), ("agency", b"Skatteverket"),
                  ("agency_other", b""), ("what", what), ("when", b"Spring 2026"),
                  ("who", b"Head of unit"), ("identity", b"anonymous"), ("name", b""),
                  ("contact", b"")]
        parts, content_type = multipart(fields, file)
        got = _post_form(browser, result, lock, "/submit", parts, content_type,
                         lambda s, b, _loc: s == 200 and RECEIPT.search(b) is not None)
        receipt = RECEIPT.search(got[1]) if got else None
        if receipt:
            with lock:
                result.cycles.append(time.perf_counter())
                result.receipts.append(receipt.group(1).decode())

    return cycle


def login_cycle(receipts: Iterator[str]) -> Callable[..., None]:
    pick = threading.Lock()

    def cycle(browser: Browser, result: RunResult, lock: threading.Lock) -> None:
        with pick:
            receipt = next(receipts)
        token = _form_token(browser, result, lock, "/login")
        if token is None:
            return
        got = _post_form(browser, result, lock, "/login",
                         [b"csrf_token=" + token + b"&receipt=" + receipt.encode()],
                         "application/x-www-form-urlencoded",
                         lambda s, _b, loc: s == 302 and loc.endswith("/dialogue"))
        if got is not None:
            with lock:
                result.cycles.append(time.perf_counter())

    return cycle


def run_http(name: str, port: int, server: Server, clients: int, warmup: float,
             duration: float, cycle: Callable[..., None]) -> RunResult:
    """``clients`` browsers repeat ``cycle`` for warm-up + duration; measure the window."""
    result = RunResult(name)
    lock = threading.Lock()
    start = time.perf_counter()
    result.window = (start + warmup, start + warmup + duration)

    def client() -> None:
        browser = Browser(port)
        while time.perf_counter() < result.window[1]:
            before = len(result.samples)
            cycle(browser, result, lock)
            if any(not s.ok for s in result.samples[before:]):
                time.sleep(0.05)  # do not spin on a failing server
        browser.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    result.usage = _measure_window(result.window, server)
    for t in threads:
        t.join(timeout=300)
    return result


def _measure_window(window: tuple[float, float], server: Server | None) -> Usage:
    time.sleep(max(0.0, window[0] - time.perf_counter()))
    a = snapshot(server)
    time.sleep(max(0.0, window[1] - time.perf_counter()))
    return Usage.between(a, snapshot(server))


def run_argon2(threads: int, warmup: float, duration: float, server: Server | None,
               argon2: crypto.Argon2Params) -> RunResult:
    """Bare crypto.derive_receipt_keys (at PRODUCTION but in a quick run) on ``threads``
    threads."""
    result = RunResult(f"bare Argon2, {threads} threads")
    salt = crypto.new_instance_salt()
    receipts = [crypto.generate_receipt() for _ in range(8)]
    lock = threading.Lock()
    start = time.perf_counter()
    result.window = (start + warmup, start + warmup + duration)

    def worker(idx: int) -> None:
        k = idx
        while time.perf_counter() < result.window[1]:
            cpu0 = time.thread_time()
            crypto.derive_receipt_keys(receipts[k % len(receipts)], salt, argon2)
            end, cpu = time.perf_counter(), time.thread_time() - cpu0
            with lock:
                result.cycles.append(end)
                if result.in_window(end):
                    result.argon2_cpu.append(cpu)
            k += threads

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    result.usage = _measure_window(result.window, server)
    for t in pool:
        t.join()
    return result


# --------------------------------------------------------------------------- report


def intake_machine() -> list[str]:
    return harness.machine_lines([
        ["gunicorn / Flask / Werkzeug", versions("gunicorn", "Flask", "Werkzeug")],
        ["SQLAlchemy / SQLite", f"{version('SQLAlchemy')} / {sqlite3.sqlite_version}"],
        ["argon2-cffi / PyNaCl", f"{version('argon2-cffi')} (bindings "
                                 f"{version('argon2-cffi-bindings')}) / {version('PyNaCl')}"],
    ], harness.code_fingerprint(["crypto/*.py", "intake/**/*.py", "intake/templates/*.html"],
                        "crypto/*.py, intake/**/*.py, intake/templates"))


def _pooled_rate(windows: list[RunResult]) -> float:
    time_in = sum(w.window[1] - w.window[0] for w in windows)
    return sum(w.completed for w in windows) / time_in if time_in else float("nan")


def _median_cpu(windows: list[RunResult]) -> float:
    cpu = [c for w in windows for c in w.argon2_cpu]
    return statistics.median(cpu) if cpu else float("nan")


def results_lines(base: list[RunResult], runs: list[RunResult], clients: int,
                  cores: int, warmup: float, duration: float,
                  server: Server, rss: list[int], argon2_params: crypto.Argon2Params) -> list[str]:
    """``base[i]`` and ``base[i + 1]`` are the bare Argon2 windows either side of runs[i]."""
    params = argon2_params
    base_time = sum(r.window[1] - r.window[0] for r in base)
    out = [
        "## Setup", "",
        f"- Server: `{' '.join(['gunicorn', *server.command[3:]])}` on loopback, "
        "`LYKTA_INSTANCE` pointing at a temporary instance folder (deleted afterwards) "
        "with a freshly signed recipient directory (3 reviewers, escrow, custodian).",
        f"- Argon2id at `crypto.PRODUCTION` (t={params.time_cost}, "
        f"m={params.memory_kib // 1024} MiB, p={params.parallelism}); "
        f"`argon2_concurrency` = {cores} (the number of cores). The gate is per process, "
        f"so across {WORKERS} workers up to {WORKERS * cores} derivations may run at once.",
        "- **`login_floor_seconds` = 0** for these runs. The real default is 1 s: it holds "
        "every sign-in answer back to at least 1 s so timing cannot tell a valid code from "
        "an unknown one, which by design caps sign-in latency from below (it sleeps; it "
        "does not hold an Argon2 slot, but it holds a server thread).",
        f"- `max_file_bytes` = {MAX_FILE_BYTES // MIB} MiB. Uploaded bytes are random.",
        f"- Load: {clients} client threads in this process, each a browser with its own "
        "cookie jar. One cycle = GET the form (CSRF token + session cookie), then POST it "
        "on the same connection (new connection per cycle). Reports are multipart like a "
        f"browser's: {TEXT_BYTES // KIB} KiB in *What happened?*, and a `files` part "
        f"(empty when no file is chosen, as browsers send it). Sign-in = GET /login, "
        "POST /login with a receipt from the report runs, expecting the 302 to /dialogue.",
        f"- Each HTTP run: {warmup:.0f} s warm-up, then a {duration:.0f} s window; a rate "
        "counts the cycles whose POST completed inside the window; latencies are those of "
        "requests completed inside the window (client side, so they include queueing for "
        "an Argon2 slot and for the CPU).",
        f"- Bare Argon2: `crypto.derive_receipt_keys` at PRODUCTION on {cores} threads (one "
        f"per core) in this process while gunicorn idles: {len(base)} windows of "
        f"{base_time / len(base):.1f} s ({base_time:.0f} s in all, the same as one HTTP "
        "run), one before, between and after the HTTP runs. Each run's ratio is against "
        "the two bare windows either side of it, so slow drift in a shared machine's load "
        "cancels out as far as it can.",
        "",
    ]

    rows = []
    for i, run in enumerate(runs):
        around = base[i:i + 2]
        base_rate = _pooled_rate(around)
        ratio = run.rate / base_rate if base_rate > 0 else float("nan")
        flag = " **below 0.9**" if ratio < 0.9 else ""
        failed, busy = run.failures()
        get_kind = "GET /login" if "sign-in" in run.name else "GET /submit"
        post_kind = "POST /login" if "sign-in" in run.name else "POST /submit"
        rows.append([run.name, str(run.completed), f"{run.rate:.2f}", f"{base_rate:.2f}",
                     f"{ratio:.2f}{flag}", p50_p95(run.latencies(post_kind)),
                     p50_p95(run.latencies(get_kind)), str(failed), str(busy)])
    out += [
        "## Results", "",
        *md_table(["Workload", "Completed in window", "Rate (/s)",
                   "Bare Argon2 (/s), windows either side", "Ratio (target >= 0.9)",
                   "POST p50 / p95", "GET p50 / p95", "Failures (not 2xx/3xx, not 503)",
                   "503 busy"], rows),
        "",
        "Failures and 503s are counted over the whole run, warm-up included.",
        "",
    ]

    rows = []
    for i, run in enumerate(runs):
        usage = run.usage
        assert usage is not None
        done = run.completed or 1
        server_per_op = usage.server / done
        argon2 = _median_cpu(base[i:i + 2])
        rows.append([run.name, fmt_ms(server_per_op), fmt_ms(argon2),
                     fmt_signed_ms(server_per_op - argon2),
                     f"{argon2 / server_per_op:.2f}" if server_per_op > 0 else "-",
                     fmt_ms(usage.own / done), usage.cores()])
    out += [
        "## Where the CPU went (inside the measurement windows)", "",
        *md_table(["Workload", "gunicorn CPU per op", "Argon2 CPU per derivation (bare, "
                   "median, windows either side)", "gunicorn CPU per op not spent in "
                   "Argon2 (estimate)", "CPU ratio: Argon2 / gunicorn per op",
                   "This process (clients) CPU per op",
                   f"Cores used: gunicorn / this process / other processes (of {cores})"],
                  rows),
        "",
        "gunicorn CPU = master + workers from /proc/<pid>/stat; 'other processes' = "
        "machine busy time (/proc/stat) minus gunicorn minus this process. The "
        "not-in-Argon2 column subtracts the bare derivation's CPU from the server's CPU "
        "per operation. The CPU ratio is what the throughput ratio would be if gunicorn had "
        "the cores to itself (no load generator, no other processes); it is much less "
        "sensitive to a shared machine than the wall-clock rates, but not immune: a "
        "derivation's CPU time grows when something else shares the memory bandwidth or "
        "the core's hyperthread sibling.",
        "",
    ]

    rows = []
    for run in base:
        usage = run.usage
        assert usage is not None
        rows.append([run.name, str(run.completed), f"{run.rate:.2f}",
                     fmt_ms(_median_cpu([run])), usage.cores()])
    rows.append(["All windows pooled", str(sum(r.completed for r in base)),
                 f"{_pooled_rate(base):.2f}", fmt_ms(_median_cpu(base)), "-"])
    out += [
        f"### Bare Argon2 windows ({cores} threads)", "",
        *md_table(["Window", "Derivations completed", "Rate (/s)",
                   "CPU per derivation (median)",
                   f"Cores used: gunicorn / this process / other processes (of {cores})"],
                  rows),
        "",
    ]

    everything = [*base, *runs]
    busy_runs = [r for r in everything if r.usage and r.usage.busy_machine()]
    steal = max((r.usage.steal_cores or 0) for r in everything if r.usage)
    other = max((r.usage.other_cores or 0) for r in everything if r.usage)
    load = (f"_Background load: other processes used at most {other:.2f} of {cores} cores "
            f"in any window (steal at most {steal:.2f})._")
    if busy_runs:
        load += (" **The machine was not idle during: "
                 + "; ".join(r.name for r in busy_runs)
                 + ". Absolute rates, latencies and the wall-clock ratios are affected; the "
                 "CPU ratio is the better guide.**")
    out += [load, ""]

    notes = []
    for run in runs:
        for (kind, status), n in sorted(run.statuses.items()):
            if status == 503:
                notes.append(
                    f"- {run.name}: {n} x 503 on {kind}. The worker's Argon2 gate had no "
                    "free slot within `argon2_wait_seconds` (2 s) and answered 'busy, "
                    "nothing was saved'. The gate counts per gunicorn worker: when more "
                    f"than {cores} of the {clients} clients' POSTs land on the same worker, "
                    "the extra ones queue behind whole derivations even if the other worker "
                    "has a free slot.")
        for what, n in sorted(run.errors.items()):
            notes.append(f"- {run.name}: {n} x {what}")
    if rss:
        notes.append("- Peak RSS per gunicorn worker at the end (VmHWM): "
                     + ", ".join(f"{kib / 1024:.0f} MiB" for kib in rss)
                     + f" ({cores} concurrent derivations x "
                     f"{params.memory_kib // 1024} MiB each, per worker).")
    log = server.log_path.read_text(errors="replace")
    worrying = [line for line in log.splitlines()
                if any(w in line for w in ("WORKER TIMEOUT", "Traceback", "ERROR",
                                           "CRITICAL", "unexpected error"))]
    notes.append(f"- gunicorn log: {len(worrying)} worrying line(s)"
                 + (": `" + "`, `".join(worrying[:5]) + "`" if worrying else "") + ".")
    out += ["## Notes", "", *notes, ""]
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, "0.6 s windows, cheap Argon2, a 1 MiB file")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="measurement window per run, seconds (default 30)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="warm-up before each window, seconds (default 3)")
    parser.add_argument("--clients", type=int, default=4,
                        help="concurrent client threads (default 4)")
    args = parser.parse_args(argv)
    cores = usable_cores()
    run = Run("intake", args)
    progress = run.progress
    argon2 = crypto.INSECURE_FAST if run.quick else crypto.PRODUCTION
    file_bytes = MIB if run.quick else FILE_BYTES
    warmup, duration = (0.2, 0.6) if run.quick else (args.warmup, args.duration)
    out = [*run.heading("Lykta intake benchmarks (gunicorn on loopback)"), *intake_machine(),
           ""]
    workdir = Path(tempfile.mkdtemp(prefix="lykta-bench-intake-"))
    server = Server(workdir / "instance", workdir / "gunicorn.log")
    skipped: list[str] = []
    try:
        progress("setting up the instance")
        server.instance.mkdir(mode=0o700)
        make_instance(server.instance, cores, argon2)
        progress(f"starting gunicorn on {HOST}:{server.port}")
        server.start()
        payload = os.urandom(file_bytes)
        reported: list[str] = []  # receipts from the report runs, for the sign-ins

        def signin_cycle() -> Callable[..., None] | None:
            return login_cycle(itertools.cycle(reported)) if reported else None

        # (name in the report, short label, cycle factory)
        workloads: list[tuple[str, str, Callable[[], Callable[..., None] | None]]] = [
            (f"Report, {TEXT_BYTES // KIB} KiB text, no file", "the text reports",
             lambda: report_cycle(None)),
            (f"Report, {TEXT_BYTES // KIB} KiB text + one {fmt_size(file_bytes)} file",
             f"the {fmt_size(file_bytes)} reports",
             lambda: report_cycle(("evidence.pdf", payload))),
            ("Receipt sign-in (302)", "the sign-ins", signin_cycle),
        ]
        segment = duration / (len(workloads) + 1)
        base: list[RunResult] = []
        runs: list[RunResult] = []

        def bare(where: str) -> None:
            progress(f"bare Argon2, {cores} threads, {where} ({segment:.1f} s)")
            window = run_argon2(cores, warmup if run.quick else 2.0, segment, server, argon2)
            window.name = f"#{len(base) + 1}, {where}"
            base.append(window)

        bare(f"before {workloads[0][1]}")
        for name, label, make_cycle in workloads:
            cycle = make_cycle()
            if cycle is None:
                progress(f"{name}: skipped (no receipts)")
                skipped.append(name)
                continue
            progress(f"{name} ({warmup:.0f} + {duration:.0f} s)")
            runs.append(run_http(name, server.port, server, args.clients, warmup, duration,
                                 cycle))
            reported.extend(runs[-1].receipts)
            bare(f"after {label}")
        rss = server.worker_peak_rss()
        server.stop()
        out += results_lines(base, runs, args.clients, cores, warmup, duration, server, rss,
                             argon2)
        if skipped:
            out += [f"**Skipped: {', '.join(skipped)} (no report succeeded, so there was no "
                    "receipt to sign in with).**", ""]
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
