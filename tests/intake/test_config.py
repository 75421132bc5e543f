"""intake.json: every setting can be set in the file, and a bad one is refused by name.

The parsers, the builder and the reading of the file are common/settings.py's, tested in
tests/common/test_settings.py; here, intake's own fields, defaults and ranges.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import crypto
from intake import IntakeConfig
from intake.config import FILE_KEYS, ConfigError
from tests.common.test_settings import (
    assert_a_bad_file_is_refused,
    assert_every_field_is_read,
    assert_every_field_refuses_a_wrong_type,
    b64,
)


def every_setting(folder: Path) -> dict[str, tuple[Any, Any]]:
    """Each field: (its value in the file, the value the config must then hold), none of
    them the default."""
    return {
        "database_url": ("sqlite:////srv/other.sqlite", "sqlite:////srv/other.sqlite"),
        "storage_path": ("bodies", folder / "bodies"),
        "secret_key": (b64(b"k" * 40), b"k" * 40),
        "casework_verify_key": (b64(b"w" * 32), b"w" * 32),
        "directory_path": ("/etc/lykta/directory.signed", Path("/etc/lykta/directory.signed")),
        "instance_salt": (b64(b"t" * 16), b"t" * 16),
        "argon2": ({"t": 2, "m": 16, "p": 2}, crypto.Argon2Params(2, 16, 2)),
        "argon2_concurrency": (3, 3),
        "argon2_wait_seconds": (2.5, 2.5),
        "login_floor_seconds": (0, 0.0),
        "max_file_bytes": (1024, 1024),
        "max_files": (2, 2),
        "max_request_bytes": (4096, 4096),
        "session_idle_seconds": (60, 60),
        "session_absolute_seconds": (600, 600),
        "csrf_seconds": (120, 120),
        "onion_address": ("abc.onion", "abc.onion"),
        "https": (True, True),
        "agencies": (["Kommun A", "Region B"], ("Kommun A", "Region B")),
        "default_locale": ("en", "en"),
        "sync_signing_seed": (b64(b"d" * 32), b"d" * 32),
        "sync_batch_limit": (7, 7),
        "sync_max_push_bytes": (999, 999),
        "backup_public_key": ("ba" * 32, b"\xba" * 32),
    }


def minimal() -> dict[str, Any]:
    return {"secret_key": b64(b"k" * 32), "instance_salt": b64(b"s" * 16),
            "casework_verify_key": b64(b"v" * 32)}


def load(folder: Path, raw: Mapping[str, Any]) -> IntakeConfig:
    (folder / "intake.json").write_text(json.dumps(raw))
    return IntakeConfig.from_instance(folder)


def test_every_field_can_be_set_in_intake_json(tmp_path: Path) -> None:
    config = assert_every_field_is_read(IntakeConfig, FILE_KEYS, every_setting(tmp_path),
                                        minimal(), partial(load, tmp_path))
    assert config.instance_path == tmp_path


def test_left_out_settings_keep_the_defaults_of_the_fields(tmp_path: Path) -> None:
    config = load(tmp_path, minimal())
    assert config.database_url == f"sqlite:///{tmp_path / 'intake.sqlite'}"
    assert config.storage_path == tmp_path / "intake-storage"
    assert config.directory_path == tmp_path / "directory.signed"
    assert config.argon2 == crypto.PRODUCTION
    assert config.sync_signing_seed is None and config.onion_address is None


@pytest.mark.parametrize("missing", ["secret_key", "instance_salt", "casework_verify_key"])
def test_a_required_setting_left_out_is_named(tmp_path: Path, missing: str) -> None:
    raw = minimal()
    del raw[missing]
    with pytest.raises(ConfigError, match=missing):
        load(tmp_path, raw)


def test_an_unknown_setting_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting.*max_uploads"):
        load(tmp_path, {**minimal(), "max_uploads": 3})
    with pytest.raises(ConfigError, match="storage_path"):  # the file says "storage"
        load(tmp_path, {**minimal(), "storage_path": "bodies"})


def test_every_setting_refuses_a_wrong_type_by_name(tmp_path: Path) -> None:
    assert_every_field_refuses_a_wrong_type(IntakeConfig, FILE_KEYS, minimal(),
                                            partial(load, tmp_path))


@pytest.mark.parametrize(("key", "value"), [
    ("argon2_concurrency", 0), ("argon2_wait_seconds", -0.5),
    ("argon2_wait_seconds", 3601), ("login_floor_seconds", -1),
    ("max_file_bytes", 0), ("max_file_bytes", 600 * 1024 * 1024), ("max_files", 0),
    ("max_request_bytes", 0), ("session_idle_seconds", 0),
    ("session_absolute_seconds", 60), ("csrf_seconds", 0), ("onion_address", "example.com"),
    ("agencies", []), ("agencies", ["Kommun", "Kommun"]), ("agencies", [" "]),
    ("default_locale", "de"), ("sync_batch_limit", 0), ("sync_max_push_bytes", -1),
    ("secret_key", b64(b"short")), ("instance_salt", b64(b"s" * 15)),
    ("casework_verify_key", b64(b"v" * 31)), ("sync_signing_seed", b64(b"d" * 31)),
])
def test_an_out_of_range_value_is_refused_by_name(tmp_path: Path, key: str,
                                                  value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        load(tmp_path, {**minimal(), key: value})


def test_a_missing_or_malformed_file_is_refused(tmp_path: Path) -> None:
    assert_a_bad_file_is_refused(IntakeConfig.from_instance, tmp_path / "intake.json")
