"""An app served by gunicorn, as production runs it: ``gunicorn -c ops/gunicorn/X.conf.py``.

The test chooses the address and the number of workers with ``LYKTA_GUNICORN_BIND`` and
``LYKTA_GUNICORN_WORKERS`` and everything else with ``LYKTA_INSTANCE`` and ``LYKTA_*``
settings, exactly as a systemd unit does: the config file itself is never copied. The
address is a Unix socket, as in production: no other test can take it over while the app
is down, and a new master replaces the socket of a killed one at once. Besides
starting and stopping, :class:`Served` kills the way a crash does (SIGKILL: no handler,
no ``finally``, no gunicorn bookkeeping runs) the master, a worker or all of them.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .processes import process_tree

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
CONFIGS = REPO / "ops" / "gunicorn"
# What each config file serves (its wsgi_app), for the fallback below.
FACTORIES = {"intake": "intake:create_app()", "sync": "intake.bridge.sync:create_app()",
             "casework": "casework:create_app()"}


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a Unix socket (``http.client`` speaks only TCP)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def wait_for(what: str, check: Callable[[], Any], timeout: float,
             interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def gone(pid: int) -> bool:
    """True once ``pid`` runs no code (exited, or a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` names now (an inode number may be reused, with a new ctime)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_ctime_ns


def _is_gunicorn(pid: int) -> bool:
    try:
        return b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Served:
    """One gunicorn master serving ``app`` on the Unix socket ``socket`` (restartable).

    Keep the socket's path short (``tempfile.mkdtemp``): the kernel allows 107 bytes.
    """

    app: str  # "intake", "sync" or "casework": ops/gunicorn/<app>.conf.py
    environ: Mapping[str, str]  # LYKTA_INSTANCE and LYKTA_<APP>_* settings
    logs: Path
    socket: Path
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Workers orphaned by a killed master: stopped in stop() if they are still there.
    strays: list[int] = field(default_factory=list)
    _replaced: tuple[int, int] | None = None

    def command(self) -> list[str]:
        config = CONFIGS / f"{self.app}.conf.py"
        argv = [str(GUNICORN), "-c", str(config)]
        if "LYKTA_GUNICORN_BIND" not in config.read_text():
            # A config file from before it read the address from the environment.
            argv += [FACTORIES[self.app], "--bind", f"unix:{self.socket}",
                     "--workers", str(self.workers)]
        return argv

    def start(self, timeout: float = 60.0) -> None:
        """Start the master and wait until the app answers ``/readyz`` with 200."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        # Ready means the NEW master's socket answers: the path may still name the socket
        # of a killed master whose orphaned workers answer until they exit.
        self._replaced = _identity(self.socket)
        env = {**os.environ, **self.environ,
               "LYKTA_GUNICORN_BIND": f"unix:{self.socket}",
               "LYKTA_GUNICORN_WORKERS": str(self.workers)}
        log = (self.logs / f"{self.app}-{self.starts}.log").open("wb")
        with log:
            self.process = subprocess.Popen(self.command(), cwd=REPO, env=env,
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        try:
            wait_for(f"{self.app} to be ready", self._ready, timeout, interval=0.05)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn for {self.app} exited with "
                                 f"{self.process.returncode}:\n{self.log_tail()}")
        if _identity(self.socket) in (None, self._replaced):
            return False
        status = self.get_status("/readyz")
        if status == 404:  # an app from before the health endpoints: it answers at all
            status = self.get_status("/")
        return status == 200

    def connection(self, timeout: float = 60.0) -> UnixHTTPConnection:
        """A new connection to the app (one request each: ``Connection: close``)."""
        return UnixHTTPConnection(self.socket, timeout)

    def get_status(self, path: str) -> int | None:
        """The status of ``GET path`` (None: no answer)."""
        connection = self.connection(timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        except OSError:
            return None
        finally:
            connection.close()

    @property
    def master_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The master's workers now (gthread workers fork nothing of their own)."""
        return [pid for pid in process_tree(self.master_pid)[1:] if not gone(pid)]

    def wait_workers(self, timeout: float = 30.0) -> list[int]:
        """Wait until the master runs its full number of workers; return their pids."""
        def full() -> list[int] | None:
            pids = self.worker_pids()
            return pids if len(pids) == self.workers else None

        found: list[int] = wait_for(f"{self.workers} {self.app} workers", full, timeout)
        return found

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker; the master notices and forks a new one."""
        os.kill(pid, signal.SIGKILL)
        wait_for(f"worker {pid} to die", lambda: gone(pid), 10.0)

    def kill_master(self) -> list[int]:
        """SIGKILL the master alone, as ``kill -9 <master>`` does; return its orphaned
        workers (they finish what they are serving and exit once they see their parent
        gone). Reaped here so that the next :meth:`start` finds no zombie."""
        assert self.process is not None
        orphans = self.worker_pids()
        os.kill(self.master_pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.strays += orphans
        return orphans

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once, as a crashed machine (or an OOM
        killer taking the whole unit) would: frozen first so that none can fork."""
        assert self.process is not None
        tree = process_tree(self.master_pid)
        _signal_all(tree, signal.SIGSTOP)
        _signal_all(tree, signal.SIGKILL)
        self.process.wait(timeout=10)
        wait_for(f"processes {tree} to die", lambda: all(gone(p) for p in tree), 10.0)

    def wait_gone(self, pids: list[int], timeout: float = 30.0) -> None:
        """Wait until every process in ``pids`` has exited."""
        wait_for(f"processes {pids} to exit", lambda: all(gone(p) for p in pids), timeout)

    def stop(self) -> None:
        """Stop it the ordinary way (SIGTERM, graceful); SIGKILL what is left after 15 s.
        Safe to call when it is not running (in a ``finally``)."""
        if self.process is None:
            return
        tree = process_tree(self.master_pid) if self.process.poll() is None else []
        if tree:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_all(tree, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers that outlived a killed master (or a stop that timed out): only our own
        # gunicorn processes, in case a pid was reused meanwhile.
        _signal_all([pid for pid in [*tree[1:], *self.strays]
                     if not gone(pid) and _is_gunicorn(pid)], signal.SIGKILL)
        self.strays.clear()

    def log_tail(self, chars: int = 4000) -> str:
        text = "".join(f"--- {p.name}\n{p.read_text(errors='replace')}"
                       for p in sorted(self.logs.glob(f"{self.app}-*.log")))
        return text[-chars:]
