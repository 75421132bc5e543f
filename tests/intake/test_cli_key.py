"""`flask --app intake bridge key`: intake's verify key, printed as casework.json reads it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from flask import Flask

import crypto
from common import settings


def test_bridge_key_prints_the_verify_key_of_the_sync_seed_in_hex(
        make_app: Callable[..., Flask], tmp_path: Path) -> None:
    seed = secrets.token_bytes(32)
    result = make_app(sync_signing_seed=seed).test_cli_runner().invoke(args=["bridge", "key"])
    assert result.exit_code == 0, result.output
    printed = settings.hex_bytes("intake_verify_key", result.output.strip(), tmp_path)
    assert printed == crypto.SigningKey.from_seed(seed).verify_key.raw


def test_bridge_key_refuses_without_a_sync_seed(make_app: Callable[..., Flask]) -> None:
    result = make_app(sync_signing_seed=None).test_cli_runner().invoke(args=["bridge", "key"])
    assert result.exit_code != 0 and "sync_signing_seed" in result.output
