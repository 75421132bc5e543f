"""Envelopes stream: sealing and opening 1 GiB uses a bounded amount of memory.

The measurement runs in a fresh interpreter so that nothing else in the test session
(hypothesis, other tests' envelopes) inflates or hides the peak. The child takes its
``ru_maxrss`` baseline after imports and key generation, seals 1 GiB produced on the fly
(never held in memory) to a file on disk, opens that file streaming into a hashing sink,
and reports the growth of the peak resident set size.

Linux carries ``ru_maxrss`` across ``execve``: a child spawned straight from pytest starts
with pytest's own peak as its ``ru_maxrss``, which would hide any growth below it (and
make the baseline meaningless). The child is therefore started by a small ``/bin/sh``
that forks it (``"$@"; exit $?`` stops the shell from exec-ing in place), so the child's
accounting starts from the shell's few MiB. The child cross-checks ``ru_maxrss`` with its
address space's own peak (``VmHWM``, which exec does reset) and a 128 MiB calibration
allocation, so a broken measurement fails instead of passing silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

GIB = 1 << 30
MIB = 1 << 20
MAX_GROWTH = 64 * MIB

CHILD = r"""
import hashlib
import json
import os
import resource
import struct
import sys
import time

import crypto

TOTAL, BODY_PATH = int(sys.argv[1]), sys.argv[2]
BLOCK = 64 * 1024


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


class Source:
    # TOTAL pseudo-random bytes made on demand: one random 64 KiB block with a block
    # counter in its first 8 bytes, so no two blocks are equal. Hashes what it hands out.

    def __init__(self, total):
        self._left = total
        self._block = os.urandom(BLOCK)
        self._counter = 0
        self._pending = b""
        self.hash = hashlib.blake2b()

    def _next_block(self):
        self._counter += 1
        return struct.pack(">Q", self._counter) + self._block[8:]

    def read(self, size=-1):
        if size < 0:
            raise ValueError("refusing to read everything at once")
        size = min(size, self._left)
        parts, have = [], 0
        while have < size:
            if not self._pending:
                self._pending = self._next_block()
            piece = self._pending[: size - have]
            self._pending = self._pending[len(piece):]
            parts.append(piece)
            have += len(piece)
        data = b"".join(parts)
        self._left -= len(data)
        self.hash.update(data)
        return data


class HashingSink:
    def __init__(self):
        self.hash = hashlib.blake2b()
        self.size = 0

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        return len(data)


reviewer = crypto.PrivateKey.generate()
escrow = crypto.generate_escrow_key()
source = Source(TOTAL)
sink = HashingSink()
baseline = peak_rss()
hwm_baseline = status("VmHWM")
resident_at_baseline = status("VmRSS")

started = time.perf_counter()
with open(BODY_PATH, "wb") as body:
    sealed = crypto.seal_stream(
        source, body, [reviewer.public_key, escrow.public_key], routing={"unit": "hr"}
    )
after_seal = peak_rss()
sealed_at = time.perf_counter()

with open(BODY_PATH, "rb") as body:
    opened = crypto.open_stream(sealed.header, body, sink, reviewer)
after_open = peak_rss()
hwm_after_open = status("VmHWM")
opened_at = time.perf_counter()

# Calibration: touching 128 MiB must show up in the same measure, so a growth of zero
# above means "no new peak", not a broken measurement.
resident_before_ballast = status("VmRSS")
ballast = b"\x01" * (128 * 1024 * 1024)
after_ballast = peak_rss()
del ballast

print(json.dumps({
    "baseline_bytes": baseline,
    "hwm_baseline_bytes": hwm_baseline,
    "resident_at_baseline_bytes": resident_at_baseline,
    "seal_growth_bytes": after_seal - baseline,
    "growth_bytes": after_open - baseline,
    "hwm_growth_bytes": hwm_after_open - hwm_baseline,
    "growth_over_resident_bytes": after_open - resident_at_baseline,
    "calibration_growth_bytes": after_ballast - resident_before_ballast,
    "plaintext_size": sealed.plaintext_size,
    "opened_size": opened.plaintext_size,
    "sink_size": sink.size,
    "body_size": sealed.body_size,
    "file_size": os.path.getsize(BODY_PATH),
    "input_hash": source.hash.hexdigest(),
    "output_hash": sink.hash.hexdigest(),
    "seal_seconds": round(sealed_at - started, 2),
    "open_seconds": round(opened_at - sealed_at, 2),
}))
"""

# Fork (not exec) the command from a small shell, so its ru_maxrss does not start at
# pytest's peak; the trailing "exit $?" keeps the shell from exec-ing in place.
TRAMPOLINE = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


@pytest.mark.slow
def test_a_1_gib_stream_seals_and_opens_in_bounded_memory(tmp_path: Path) -> None:
    body_path = tmp_path / "body.lykb"
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [*TRAMPOLINE, sys.executable, "-c", CHILD, str(GIB), str(body_path)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=Path(__file__).resolve().parents[2],  # the repository root: imports crypto
        )
    finally:
        body_path.unlink(missing_ok=True)  # do not leave 1 GiB behind in pytest's tmp dirs
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"1 GiB seal+open in {elapsed:.1f} s: {report}")

    # The data went through intact.
    assert report["plaintext_size"] == report["opened_size"] == report["sink_size"] == GIB
    assert report["body_size"] == report["file_size"] > GIB
    assert report["output_hash"] == report["input_hash"]

    # The measurement is sound: the baseline is this process's own peak (not one
    # inherited from pytest), and 128 MiB of ballast registers as 128 MiB.
    assert report["baseline_bytes"] - report["hwm_baseline_bytes"] < 8 * MIB, report
    assert report["calibration_growth_bytes"] >= 120 * MIB, report

    # Memory stays bounded while 1 GiB streams through.
    assert report["seal_growth_bytes"] < MAX_GROWTH, report
    assert report["growth_bytes"] < MAX_GROWTH, report
    assert report["hwm_growth_bytes"] < MAX_GROWTH, report
    # Stricter: the peak over what was actually resident at the baseline (this also
    # counts any headroom the import-time peak left), still well under the bound.
    assert report["growth_over_resident_bytes"] < MAX_GROWTH, report
