"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import crypto
from crypto import Argon2Params, PrivateKey


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
