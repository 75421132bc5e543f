"""The full fuzz run (``make fuzz``): at least 100,000 requests over every route.

Not collected by a plain ``pytest`` (its name does not start with ``test_``; it takes
many minutes): ``make fuzz`` names this file, and ``make test`` runs the 2,000-request
slice in ``test_fuzz_slice.py`` instead. ``FUZZ_SEED`` (default: a fresh one, printed),
``FUZZ_REQUESTS`` (default 100000) and ``FUZZ_ONLY=<app>:<index>`` (send one request of a
run again) choose what is sent; ``FUZZ_REPORT`` names the file that receives the summary.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from .conftest import World
from .harness import run
from .test_fuzz_slice import SHARES


def test_fuzz_every_route_of_every_app(fuzz_world: World) -> None:
    seed = int(os.environ.get("FUZZ_SEED") or secrets.randbelow(2**32))
    total = int(os.environ.get("FUZZ_REQUESTS", "100000"))
    only_spec = os.environ.get("FUZZ_ONLY")
    only = None
    if only_spec:
        app_name, index = only_spec.split(":")
        only = (app_name, int(index))
    print(f"\nfuzz: seed {seed}, {total} requests", file=sys.stderr, flush=True)
    targets = [(fuzz_world.targets[name], round(total * share)) for name, share in SHARES.items()]
    results = run(targets, seed, only=only,
                  progress=lambda line: print(f"fuzz: {line}", file=sys.stderr, flush=True))
    summary = results.summary()
    print(summary, file=sys.stderr, flush=True)
    report = os.environ.get("FUZZ_REPORT")
    if report and only is None:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(summary)
    assert not results.findings, summary
