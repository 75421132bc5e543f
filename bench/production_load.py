"""bench.production_bench's moving parts: intake served by gunicorn, and the load on it.

- :class:`Intake`: an instance folder (keys, a signed directory, intake.json) and, while
  :meth:`Intake.serving`, ``gunicorn -c ops/gunicorn/intake.conf.py`` on a loopback port,
  configured the production way (``LYKTA_GUNICORN_BIND``, ``LYKTA_GUNICORN_WORKERS``,
  ``LYKTA_INSTANCE``, ``LYKTA_INTAKE_DATABASE_URL`` for PostgreSQL);
- :func:`load_child`: the load generator, this module run as a separate process
  (``python -m bench.production_load PORT``): threads over ``http.client``, each a browser
  (bench.intake_bench's) that GETs the form and POSTs a multipart report;
- :func:`measure`: one timed batch against one server, with the CPU it took and the CPU
  other processes took meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crypto
from bench import harness
from bench.harness import HOST, free_port
from tests.support.processes import process_tree

CONFIG = harness.REPO_ROOT / "ops" / "gunicorn" / "intake.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")
CLIENTS = 8  # load generator threads: twice the server threads of one worker (4)
WARMUP = 6  # untimed submissions per worker before each timed batch (2 in a quick run)
# What in gunicorn's log (level warning: the config's) explains a failed request.
WORRYING = re.compile(r"WORKER TIMEOUT|Traceback|ERROR|CRITICAL|Error:|locked")
STAMP = re.compile(r'"time": "[^"]*", ')  # common/logs.py's JSON lines
OWN_PREFIXES = ("LYKTA_INTAKE_", "LYKTA_CASEWORK_", "LYKTA_GUNICORN_", "LYKTA_INSTANCE")


# --------------------------------------------------------------------------- the load


def generate(port: int, requests: int, clients: int) -> dict[str, Any]:
    """``clients`` browsers submit ``requests`` text reports between them (no retries)."""
    from bench.intake_bench import Browser, RunResult, report_cycle

    result = RunResult("load")
    lock = threading.Lock()
    cycle = report_cycle(None)
    left = [requests]

    def client() -> None:
        browser = Browser(port)
        while True:
            with lock:
                if left[0] <= 0:
                    break
                left[0] -= 1
            cycle(browser, result, lock)
        browser.close()

    start, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - start
    return {"wall": wall, "cpu": time.process_time() - cpu, "completed": len(result.cycles),
            "post": [s.seconds for s in result.samples if s.kind == "POST /submit" and s.ok],
            "get": [s.seconds for s in result.samples if s.kind == "GET /submit" and s.ok],
            "errors": dict(result.errors),
            "busy": sum(n for (_, status), n in result.statuses.items() if status == 503)}


def load_generator(port: int, warmup: int, requests: int, clients: int) -> None:
    """The child process, one line on stdout at each step: "ready" (imported), then on a
    word from stdin the warm-up and "warm", then on the next word the timed batch and its
    answer as JSON."""
    import bench.intake_bench  # noqa: F401  (the browsers' modules, before "ready")

    print("ready", flush=True)
    sys.stdin.readline()
    generate(port, warmup, clients)
    print("warm", flush=True)
    sys.stdin.readline()
    print(json.dumps(generate(port, requests, clients)), flush=True)


class LoadChild:
    """The load generator in a separate process (its GIL and CPU are not the bench's),
    started before the server so that its imports overlap the server's boot."""

    def __init__(self, port: int, warmup: int, requests: int, clients: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.production_load", str(port), "--warmup",
             str(warmup), "--requests", str(requests), "--clients", str(clients)],
            cwd=harness.REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self._expect("ready")

    def _expect(self, word: str | None) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line or (word and line != word):
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise RuntimeError("load generator failed: "
                               + (self.proc.stderr.read() if self.proc.stderr else "")[-2000:])
        return line

    def _say(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def warm(self) -> None:
        """The untimed warm-up: every worker's first requests (templates, connections)."""
        self._say()
        self._expect("warm")

    def go(self) -> dict[str, Any]:
        """The timed batch; its answer."""
        self._say()
        answer: dict[str, Any] = json.loads(self._expect(None))
        self.proc.wait(timeout=60)
        return answer

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@contextmanager
def load_child(port: int, warmup: int, requests: int, clients: int) -> Iterator[LoadChild]:
    child = LoadChild(port, warmup, requests, clients)
    try:
        yield child
    finally:
        child.stop()


# --------------------------------------------------------------------------- the server


def _proc_cpu(pid: int, children_too: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (
        int(fields[13]) + int(fields[14]) if children_too else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Intake:
    """One instance folder and, while :meth:`serving`, gunicorn with the production config."""

    name: str  # "SQLite" or "PostgreSQL"
    root: Path
    database_url: str | None  # None: the default SQLite file in the instance folder
    argon2: crypto.Argon2Params
    # The source tree gunicorn serves from (its working folder, first on its path):
    # another tree lets one run measure an older version of the code beside this one.
    code: Path = harness.REPO_ROOT

    def environ(self) -> dict[str, str]:
        # The bench decides every setting: none leaks in from the caller's shell.
        env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        env["LYKTA_INSTANCE"] = str(self.root)
        if self.database_url:
            env["LYKTA_INTAKE_DATABASE_URL"] = self.database_url
        return env

    def create(self) -> None:
        """Keys, a signed directory and intake.json (bench.intake_bench's); the database
        migrated once here, so that the workers never race to migrate a fresh one."""
        from bench.intake_bench import make_instance
        from intake import IntakeConfig, create_app

        self.root.mkdir(mode=0o700, parents=True)
        make_instance(self.root, harness.usable_cores(), self.argon2)
        if self.database_url:
            app = create_app(IntakeConfig.from_instance(self.root, environ=self.environ()))
            app.extensions["lykta.intake.db"].engine.dispose()

    @contextmanager
    def serving(self, workers: int, log: Path, port: int) -> Iterator[Callable[[], float]]:
        """gunicorn on loopback ``port`` with ``workers`` workers; yields its CPU meter
        (seconds of the master and its workers) after a ready check."""
        env = {**self.environ(), "LYKTA_GUNICORN_BIND": f"{HOST}:{port}",
               "LYKTA_GUNICORN_WORKERS": str(workers)}
        # --no-control-socket: gunicorn >= 25 opens one under ~/.gunicorn by default,
        # which a bench has no use for and which concurrent runs would fight over.
        command = [str(GUNICORN), "-c", str(self.code / CONFIG.relative_to(harness.REPO_ROOT)),
                   "--no-control-socket"]
        with log.open("ab") as out:
            proc = subprocess.Popen(command, cwd=self.code, env=env,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            self._wait_ready(proc, port, workers, log)

            def cpu() -> float:
                return _proc_cpu(proc.pid, children_too=True) + sum(
                    _proc_cpu(pid) for pid in process_tree(proc.pid)[1:])

            yield cpu
        finally:
            # SIGINT: gunicorn's quick shutdown (the batch is over; nothing to drain).
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in reversed(process_tree(proc.pid)):
                    os.kill(pid, 9)
                proc.wait(timeout=10)

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int, workers: int,
                    log: Path, timeout: float = 120.0) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}: "
                                   + log.read_text(errors="replace")[-2000:])
            if len(process_tree(proc.pid)) == workers + 1:
                try:
                    conn = http.client.HTTPConnection(HOST, port, timeout=5)
                    conn.request("GET", "/readyz")
                    if conn.getresponse().status == 200:
                        conn.close()
                        return
                    conn.close()
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not become ready in time: "
                           + log.read_text(errors="replace")[-2000:])


@dataclass
class Measured:
    """One configuration, pooled over the rounds."""

    database: str
    workers: int
    variant: str = ""  # the code measured, when a run compares two versions
    wall: float = 0.0
    completed: int = 0
    post: list[float] = field(default_factory=list)
    get: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    other_cpu: float = 0.0
    failures: int = 0
    busy: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # "POST /submit: HTTP 500": n
    log_lines: Counter[str] = field(default_factory=Counter)  # gunicorn's worrying lines

    @property
    def label(self) -> str:
        label = f"{self.database}, {self.workers} worker{'s' if self.workers > 1 else ''}"
        return f"{label}, {self.variant}" if self.variant else label

    @property
    def rate(self) -> float:
        return self.completed / self.wall if self.wall else float("nan")

    def add(self, answer: dict[str, Any], server_cpu: float, other_cpu: float) -> None:
        self.wall += answer["wall"]
        self.completed += answer["completed"]
        self.post += answer["post"]
        self.get += answer["get"]
        self.failures += sum(answer["errors"].values())
        self.errors.update(answer["errors"])
        self.busy += answer["busy"]
        self.server_cpu += server_cpu
        self.other_cpu += other_cpu


def measure(intake: Intake, workers: int, requests: int, log: Path, into: Measured,
            warmup: int = WARMUP) -> None:
    """Serve, warm up (untimed), then one timed batch of ``requests`` submissions; the
    worrying lines the server logged (a log of its own for each server) are kept."""
    if log.exists():
        log.unlink()
    port = free_port()
    with load_child(port, warmup * workers, requests, CLIENTS) as child, \
            intake.serving(workers, log, port) as server_cpu:
        child.warm()
        busy0, own0, cpu0, t0 = (harness.machine_busy(), harness.own_cpu(children=False),
                                 server_cpu(), time.perf_counter())
        answer = child.go()
        busy1, own1, cpu1, t1 = (harness.machine_busy(), harness.own_cpu(children=False),
                                 server_cpu(), time.perf_counter())
    other = 0.0
    if busy0 and busy1:  # machine busy time minus gunicorn, the load generator and us,
        # as a share of the window's wall time (then scaled to the batch's)
        other = max(0.0, busy1[0] - busy0[0] - (cpu1 - cpu0) - answer["cpu"]
                    - (own1 - own0)) / (t1 - t0) * answer["wall"]
    into.add(answer, cpu1 - cpu0, other)
    # The time stamp dropped, so that the same message from many requests counts as one.
    into.log_lines.update(STAMP.sub("", line.strip())[:160] for line in
                          log.read_text(errors="replace").splitlines()
                          if WORRYING.search(line))


if __name__ == "__main__":  # the load generator's process (see load_child)
    parser = argparse.ArgumentParser(description="bench.production_bench's load generator")
    parser.add_argument("port", type=int)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    options = parser.parse_args()
    load_generator(options.port, options.warmup, options.requests, options.clients)
