"""ops/rehearse.sh, the production rehearsal on loopback, run as an operator runs it.

It starts PostgreSQL, Redis, intake and its sync app under gunicorn behind nginx, two
casework nodes behind one TLS upstream, two rq workers and the scheduler, all in a
temporary folder, and drives a report through nginx to casework and a reply back. The
test holds it to its word: exit 0 only when every step held, each step printed, and
nothing left behind - no process, no folder - whether it passed or failed.
"""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import _service_missing
from tests.ops.tools import program

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "ops" / "rehearse.sh"
HEADERS_MORE = Path("/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so")
TIMEOUT = 300  # seconds: a bound for a loaded machine; it takes well under a minute idle

# What the rehearsal must say it did, in this order.
STEPS = [
    "ok: prerequisites",
    "ok: PostgreSQL and Redis",
    "ok: configuration",
    "ok: TLS certificates",
    "ok: database migrations",
    "ok: intake host: gunicorn and nginx started",
    "ok: casework host: started",
    "ready: intake node",
    "ready: sync node",
    "ready: casework node 1",
    "ready: casework node 2",
    "ready: intake through nginx",
    "ready: sync through nginx (client certificate)",
    "ready: casework through nginx",
    "ready: 2 rq workers registered on Redis",
    "ok: readiness",
    "ok: intake form through nginx",
    "ok: report submitted at intake",
    "ok: reviewer signed in to casework over TLS",
    "ok: bridge brought the report to casework",
    "ok: case opened and decrypted",
    "ok: reply posted",
    "ok: tipster signed in at intake with the receipt",
    "ok: reply reached the tipster",
    "ok: a report to casework and a reply back, through nginx",
    "rehearsal passed",
]


def _require_services() -> None:
    """The Debian packages the rehearsal runs; in CI their absence fails the test."""
    for name in ("nginx", "redis-server", "openssl"):
        program(name)
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        _service_missing("PostgreSQL")
    if not HEADERS_MORE.exists():
        _service_missing("nginx's headers-more module (libnginx-mod-http-headers-more-filter)")


def _rehearse(extra_env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the script as an operator would: its own environment, no LYKTA_* settings
    of the test session's (the suite's throwaway LYKTA_INSTANCE, say)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYKTA_")}
    env.update(extra_env or {})
    process = subprocess.Popen([str(SCRIPT)], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM: the script's trap stops what it started and removes its folder.
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"the rehearsal took over {TIMEOUT} s:\n{output.decode()[-5000:]}")
    return process.returncode, output.decode(errors="replace")


def _lines(output: str) -> list[str]:
    return [line.removeprefix("[rehearsal] ") for line in output.splitlines()
            if line.startswith("[rehearsal] ")]


def _left_behind(output: str) -> list[str]:
    """The rehearsal's folder if it is still there, and every process whose command line
    or environment names it (each process it starts has it in one or the other)."""
    found = re.search(r"state in (\S+)\)", output)
    assert found, output[-3000:]
    root = found.group(1)
    left = [root] if Path(root).exists() else []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if root.encode() in seen:
            left.append(f"process {proc.name}: {(proc / 'cmdline').read_bytes()[:120]!r}")
    return left


def test_the_rehearsal_drives_a_report_and_a_reply_through_the_production_stack() -> None:
    _require_services()
    status, output = _rehearse()
    assert status == 0, output[-6000:]
    said = _lines(output)
    positions = []
    for step in STEPS:
        matches = [i for i, line in enumerate(said) if line.startswith(step)]
        assert matches, f"no line '{step}...' in:\n" + "\n".join(said)
        positions.append(matches[0])
    assert positions == sorted(positions), "\n".join(said)
    assert not any("FAILED" in line for line in said)
    assert _left_behind(output) == []


def test_a_failing_step_is_named_and_everything_is_stopped_and_removed() -> None:
    _require_services()
    # A misspelt setting: casework refuses to start, so its migration step fails after
    # PostgreSQL and Redis are already running.
    status, output = _rehearse({"LYKTA_CASEWORK_DATABSE_URL": "postgresql://nowhere"})
    assert status != 0
    said = _lines(output)
    assert "ok: PostgreSQL and Redis" in "\n".join(said)
    assert any(line.startswith("FAILED at step: database migrations") for line in said), \
        output[-3000:]
    assert not any(line.startswith("rehearsal passed") for line in said)
    assert "LYKTA_CASEWORK_DATABSE_URL" in output  # the log's tail says why
    assert _left_behind(output) == []
