"""Hypothesis settings for mutation runs of the crypto tests, and a tampered wrapped key.

``make mutation`` runs the crypto suite once per mutant, so it sets ``LYKTA_MUTATION=1``:
every property test then draws at most ``LYKTA_MUTATION_EXAMPLES`` examples (default 10),
derandomized, without the example database and without shrinking a failure, so a score is
reproducible run to run and a killed mutant costs little.
Normal runs (``make test``, CI) are untouched.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import Phase, settings

import crypto

_MUTATION = os.environ.get("LYKTA_MUTATION") == "1"
_MAX_EXAMPLES = int(os.environ.get("LYKTA_MUTATION_EXAMPLES", "10"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not _MUTATION:
        return
    for item in items:
        test = getattr(item, "obj", None)
        inner = getattr(getattr(test, "hypothesis", None), "inner_test", None)
        if inner is None:
            continue
        # @settings on a test overrides any profile, so cap the settings attached to it.
        current = getattr(test, "_hypothesis_internal_use_settings", settings.default)
        test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
            current,
            max_examples=min(current.max_examples, _MAX_EXAMPLES),
            derandomize=True,
            database=None,
            # A mutation run only needs to know that a test fails, not the smallest example.
            phases=[Phase.explicit, Phase.generate],
        )


# Stored Argon2 parameters (t, m, p) outside the accepted ranges.
OUT_OF_RANGE_PARAMETERS = [(0, 64, 1), (17, 64, 1), (1, 4, 1), (1, 2**20 + 1, 1), (1, 64, 17)]


@pytest.fixture(params=OUT_OF_RANGE_PARAMETERS, ids=lambda tmp: "-".join(map(str, tmp)))
def out_of_range_wrapped_key(request: pytest.FixtureRequest,
                             reviewers: list[crypto.PrivateKey],
                             argon2_params: crypto.Argon2Params) -> bytes:
    """A wrapped key whose record was tampered with: its stored Argon2 parameters (bytes 5
    to 14) are out of range, one set per parameter."""
    t, m, p = request.param
    wrapped = bytearray(crypto.wrap_private_key(reviewers[0], "pass", argon2_params))
    wrapped[5:14] = t.to_bytes(4, "big") + m.to_bytes(4, "big") + p.to_bytes(1, "big")
    return bytes(wrapped)
