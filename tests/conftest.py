"""Fixtures shared by the whole suite."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

import crypto
from crypto import Argon2Params, PrivateKey

# Tests never write into the checkout: Hypothesis keeps no example database (every failure
# it finds is printed with the @example that pins it) and its other files go to a
# temporary folder, not .hypothesis/; pyproject.toml turns pytest's cache off.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="lykta-hypothesis-"))
settings.register_profile("lykta", database=None)
settings.load_profile("lykta")

# Nor into the checkout's instance/ (the demo's, perhaps a developer's own): anything that
# falls back on LYKTA_INSTANCE (the apps' factories, scripts.demo, subprocesses, which
# inherit os.environ) gets a throwaway folder for the whole session instead. Set here, when
# pytest loads this file, before any test module is imported (scripts.demo reads it at
# import). The session's end checks that instance/ was left as it was.
_SESSION_INSTANCE = tempfile.mkdtemp(prefix="lykta-instance-")
os.environ["LYKTA_INSTANCE"] = _SESSION_INSTANCE


@pytest.fixture
def argon2_params() -> Argon2Params:
    """Cheap Argon2id parameters: the one place tests choose the cost.

    Production parameters are exercised explicitly in tests marked ``production_cost``.
    """
    return crypto.INSECURE_FAST


@pytest.fixture
def make_key() -> Callable[[], PrivateKey]:
    """Factory of fresh reviewer key pairs."""
    return PrivateKey.generate


@pytest.fixture
def reviewers(make_key: Callable[[], PrivateKey]) -> list[PrivateKey]:
    """Three reviewer key pairs."""
    return [make_key() for _ in range(3)]


@pytest.fixture
def instance_salt() -> bytes:
    """A per-instance receipt salt."""
    return crypto.new_instance_salt()


# --- PostgreSQL: a throwaway server for the production-database tests -------------------


def _service_missing(what: str) -> None:
    # In CI a missing service is a failure, never a silent skip.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI (make test installs it as root)")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a private PostgreSQL on a Unix socket; yield the socket directory."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _service_missing("PostgreSQL")
    bin_dir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="lykta-pg-"))
    data = root / "data"
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        root.chmod(0o700)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "lykta", "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l",
                    str(root / "log"), "-o",
                    f"-k {root} -c listen_addresses='' -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield str(root)
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                        "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def new_postgres_database(postgres_server: str) -> Callable[[], str]:
    """Factory of fresh, empty databases on the throwaway server (SQLAlchemy URLs)."""
    from sqlalchemy import create_engine, text

    def create() -> str:
        name = f"lykta_{uuid.uuid4().hex[:12]}"
        admin = create_engine(f"postgresql+psycopg://lykta@/postgres?host={postgres_server}",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"postgresql+psycopg://lykta@/{name}?host={postgres_server}"

    return create


@pytest.fixture
def postgres_url(new_postgres_database: Callable[[], str]) -> str:
    """A fresh, empty database on the throwaway server."""
    return new_postgres_database()


# The suite's switch (tests/support/databases.py reads and checks it; imported only when
# set, so that `make mutation`'s copy of this file and tests/crypto needs no app).
_ON_POSTGRESQL = os.environ.get("LYKTA_TEST_DATABASE") == "postgresql"


@pytest.fixture(scope="session", autouse=True)
def _app_databases_server(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under LYKTA_TEST_DATABASE=postgresql the apps' databases live on the session's
    server (tests/support/databases.py); on SQLite this does nothing."""
    if not _ON_POSTGRESQL:
        yield
        return
    from tests.support import databases

    databases.use_postgres_server(request.getfixturevalue("postgres_server"))
    try:
        yield
    finally:
        databases.stop_using_postgres_server()


@pytest.fixture(autouse=True)
def _app_databases_of_a_test(_app_databases_server: None) -> Iterator[None]:
    """Drop the PostgreSQL app databases a test made when it ends (those of module-scoped
    fixtures, made before, stay until the session ends)."""
    if not _ON_POSTGRESQL:
        yield
        return
    from tests.support import databases

    mark = databases.postgres_databases_made()
    yield
    databases.drop_postgres_databases_since(mark)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private Redis on a Unix socket (no persistence), as a redis:// URL."""
    server = shutil.which("redis-server")
    if server is None:
        _service_missing("Redis")
    assert server is not None
    root = Path(tempfile.mkdtemp(prefix="lykta-redis-"))
    socket = root / "redis.sock"
    process = subprocess.Popen([server, "--port", "0", "--unixsocket", str(socket),
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if socket.exists():
            break
        time.sleep(0.02)
    try:
        yield f"unix://{socket}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


# --- the order in which the files start -----------------------------------------------

# `make test` hands whole files to its two workers (--dist loadfile) in collection order
# (--no-loadscope-reorder: xdist's own order, most tests first, put the long files of one
# or two tests - the bench slice, the crash slice, the rehearsal - last, and one worker
# ran them alone while the other stood idle). The longest files start first, so the run
# ends on short ones and both workers finish together; the rest follow, most tests first.
# Longest first by a measured run (`--durations`); a stale list costs time, never a test.
LONGEST_FIRST = (
    "tests/bench/test_bench_quick.py",
    "tests/bridge/test_compromised_intake.py",
    "tests/ops/test_rehearsal.py",
    "tests/casework/test_workflow.py",
    "tests/ops/test_crash.py",
    "tests/browser/test_intake_accessibility.py",
    "tests/browser/test_casework_accessibility.py",
    "tests/casework/test_inbox.py",
    "tests/casework/test_timeline.py",
    "tests/casework/test_permissions.py",
    "tests/casework/test_scrub_bombs.py",
    "tests/crypto/test_envelope_properties.py",
    "tests/casework/test_statistics_api.py",
    "tests/browser/test_casework.py",
    "tests/bridge/test_processes.py",
    "tests/casework/test_rekey.py",
    "tests/casework/test_disclosure_periods.py",
    "tests/casework/test_triage.py",
    "tests/crypto/test_mutation_slice.py",
    "tests/fuzz/test_request_hygiene.py",
    "tests/casework/test_hostile_input.py",
    "tests/casework/test_instance_files.py",
    "tests/casework/test_workflow_properties.py",
    "tests/casework/test_assignment_paths.py",
    "tests/casework/test_disclosure.py",
    "tests/bridge/test_rq_workers.py",
    "tests/common/test_backup.py",
    "tests/browser/test_intake_journey.py",
    "tests/test_demo.py",
    "tests/browser/test_inbox_filters.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first (LONGEST_FIRST), then the others by their number of tests;
    a file's own tests keep their order."""
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    counts: dict[str, int] = {}
    for item in items:
        counts[file_of(item)] = counts.get(file_of(item), 0) + 1
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (rank.get(file_of(item), len(rank)), -counts[file_of(item)],
                                 file_of(item)))


# --- the checkout stays as it was ----------------------------------------------------

CHECKOUT = Path(__file__).resolve().parent.parent
# Written by Python itself (bytecode) or before the suite starts (the venv, tool caches).
_NOT_THE_TESTS = ("__pycache__", ".venv/", ".cache/", ".mypy_cache/", ".ruff_cache/",
                  ".egg-info/")


def _checkout_state() -> set[str] | None:
    """Untracked and ignored paths of the checkout (None outside a git checkout)."""
    git = shutil.which("git")
    if git is None:
        return None
    result = subprocess.run([git, "status", "--porcelain", "--ignored"], cwd=CHECKOUT,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return {line[3:] for line in result.stdout.splitlines()
            if line[:2] in ("??", "!!") and not any(p in line for p in _NOT_THE_TESTS)}


FolderState = dict[str, tuple[int, int]] | None


def folder_state(folder: Path) -> FolderState:
    """Everything under ``folder`` as {relative path: (mtime_ns, size)}; None if absent.

    Folders are listed too: a file created and deleted again still changes its folder's
    modification time.
    """
    if not folder.exists():
        return None
    state = {".": (folder.stat().st_mtime_ns, 0)}
    for path in folder.rglob("*"):
        try:
            info = path.lstat()
        except FileNotFoundError:  # gone while we looked: the comparison will tell
            continue
        state[path.relative_to(folder).as_posix()] = (info.st_mtime_ns, info.st_size)
    return state


def folder_changes(before: FolderState, after: FolderState) -> list[str]:
    """What differs between two :func:`folder_state` listings, one line per path."""
    if before is None and after is None:
        return []
    if before is None:
        return ["created"]
    if after is None:
        return ["deleted"]
    changes = [f"{name}: created" for name in sorted(after.keys() - before.keys())]
    changes += [f"{name}: deleted" for name in sorted(before.keys() - after.keys())]
    changes += [f"{name}: modified" for name in sorted(before.keys() & after.keys())
                if before[name] != after[name]]
    return changes


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note what the checkout (and its instance/) holds before any test runs."""
    session.config.stash[_BEFORE] = _checkout_state()
    session.config.stash[_INSTANCE_BEFORE] = folder_state(CHECKOUT / "instance")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test left a file in the checkout (state belongs in tmp_path) or
    created or changed the checkout's instance/ (the demo's, or a developer's)."""
    shutil.rmtree(_SESSION_INSTANCE, ignore_errors=True)
    failed = False
    instance = folder_changes(session.config.stash.get(_INSTANCE_BEFORE, None),
                              folder_state(CHECKOUT / "instance"))
    if instance:
        print(f"\ntests created or changed the checkout's instance/: {'; '.join(instance)}")
        failed = True
    before = session.config.stash.get(_BEFORE, None)
    after = _checkout_state()
    left = sorted(after - before) if before is not None and after is not None else []
    if left:
        print(f"\ntests wrote into the checkout: {', '.join(left)}")
        failed = True
    if failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[str] | None]()
_INSTANCE_BEFORE = pytest.StashKey[FolderState]()
