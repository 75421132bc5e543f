"""A private PostgreSQL cluster for a benchmark: started in a temporary folder, stopped after.

``with Cluster() as pg: url = pg.new_database()`` gives SQLAlchemy URLs of fresh, empty
databases on a server that listens on a Unix socket in its own folder only (no TCP port),
with Debian's default settings except ``max_connections``: durability is left on
(``fsync``, ``synchronous_commit``), because the benchmarks compare it with SQLite, which
keeps its own (WAL, a sync at every commit). As root the cluster runs as the ``postgres``
user through ``runuser``, as tests/conftest.py's ``postgres_server`` does: ``initdb``
refuses to run as root.

A machine without PostgreSQL: :func:`missing` says what to write in the result file
instead of the numbers, except with ``CI=true``, where it raises: in CI a benchmark that
needs PostgreSQL fails rather than silently measuring nothing (the suite's rule).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

from sqlalchemy import create_engine, text

USER = "lykta"


class PostgresMissing(RuntimeError):
    """PostgreSQL is required here (CI=true) and not installed."""


def bin_dir() -> Path | None:
    """The newest installed server's binaries (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def missing(what: str) -> list[str]:
    """Lines for a section that cannot run without PostgreSQL; raises with ``CI=true``."""
    if os.environ.get("CI") == "true":
        raise PostgresMissing(f"PostgreSQL is required in CI for {what} "
                              "(make sysdeps installs it)")
    return [f"**Not measured: PostgreSQL is not installed on this machine ({what}).**", ""]


class Cluster:
    """One throwaway cluster; a context manager (stopped and deleted on exit)."""

    def __init__(self, max_connections: int = 200) -> None:
        found = bin_dir()
        if found is None:
            raise PostgresMissing("PostgreSQL is not installed")
        self.bin = found
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="lykta-bench-pg-"))
        self.data = self.root / "data"
        self.as_postgres: list[str] = []
        self.started = False

    @property
    def socket_dir(self) -> str:
        return str(self.root)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{USER}@/{name}?host={self.root}"

    def start(self) -> Cluster:
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)
        # --no-sync only spares initdb's own flush of the template files; the server
        # itself runs with fsync on.
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                  f"-k {self.root} -c listen_addresses='' "
                  f"-c max_connections={self.max_connections}", "start")
        self.started = True
        return self

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, str(self.bin / program), *args],
                              capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): "
                               f"{(done.stdout + done.stderr).strip()[-2000:]}")

    def execute(self, statement: str, database: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement outside a transaction (CREATE DATABASE needs that)."""
        engine = create_engine(self.url(database), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(text(statement))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def new_database(self, prefix: str = "lykta_bench") -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def description(self) -> str:
        """The server's version and the settings that matter for a comparison."""
        rows = self.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('server_version', "
            "'fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', "
            "'max_connections') ORDER BY name")
        shown = []
        for name, setting, unit in rows:
            if name == "shared_buffers" and unit == "8kB":
                setting = f"{int(str(setting)) * 8 // 1024} MiB"
                unit = None
            shown.append(f"{name}={setting}{unit or ''}")
        return ", ".join(shown) + " (Unix socket in a temporary folder, no TCP)"

    def stop(self) -> None:
        if self.started:
            self._run_quietly("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def _run_quietly(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / program), *args],
                       capture_output=True, check=False, timeout=120)

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
