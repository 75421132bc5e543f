"""A slice of the fuzz run in every ``make test``: all routes, a fixed seed, under a minute.

``make fuzz`` runs the full size (tests/fuzz/full_run.py); this slice makes a
regression of the request hygiene fail CI.
"""

from __future__ import annotations

import os

from .conftest import World
from .harness import run

SEED = 20261201
REQUESTS = int(os.environ.get("FUZZ_SLICE_REQUESTS", "2000"))
SHARES = {"casework": 0.55, "intake": 0.30, "sync": 0.15}


def test_fuzz_slice_over_every_route_finds_nothing(fuzz_world: World) -> None:
    targets = [(fuzz_world.targets[name], int(REQUESTS * share))
               for name, share in SHARES.items()]
    results = run(targets, SEED)
    assert results.requests >= REQUESTS - len(SHARES)
    # Every route of every app was reached.
    for target, _ in targets:
        for rule in target.rules:
            assert any(key.endswith(" " + rule.rule) and key.startswith(target.name + " ")
                       for key in results.counts), f"{target.name} {rule.rule} never fuzzed"
    assert not results.findings, results.summary()
