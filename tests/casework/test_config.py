"""casework.json: every setting can be set in the file, and a bad one is refused by name.

The parsers, the builder and the reading of the file are common/settings.py's, tested in
tests/common/test_settings.py; here, casework's own fields, defaults and ranges.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import crypto
from casework import CaseworkConfig
from casework.config import FILE_KEYS, ConfigError, ReferralAuthority
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
        "database_url": ("postgresql+psycopg://lykta@/casework",
                         "postgresql+psycopg://lykta@/casework"),
        "secret_key": (b64(b"k" * 48), b"k" * 48),
        "signing_key_path": ("keys/signing.seed", folder / "keys" / "signing.seed"),
        "argon2": ({"t": 2, "m": 16, "p": 2}, crypto.Argon2Params(2, 16, 2)),
        "session_idle_seconds": (60, 60),
        "session_absolute_seconds": (3600, 3600),
        "lockout_threshold": (3, 3),
        "lockout_base_seconds": (10, 10),
        "lockout_max_seconds": (600, 600),
        "failure_memory_seconds": (7200, 7200),
        "enrolment_seconds": (300, 300),
        "https": (False, False),
        "totp_issuer": ("Lykta (Kommun A)", "Lykta (Kommun A)"),
        "directory_valid_days": (7, 7),
        "escrow_public_key": ("ab" * 32, b"\xab" * 32),
        "storage_path": ("/srv/bodies", Path("/srv/bodies")),
        "totp_key_path": ("keys/totp.key", folder / "keys" / "totp.key"),
        "audit_signing_key_path": ("keys/audit.seed", folder / "keys" / "audit.seed"),
        "audit_head_path": ("/srv/audit/head.json", Path("/srv/audit/head.json")),
        "intake_sync_url": ("http://10.0.0.2:8090", "http://10.0.0.2:8090"),
        "intake_verify_key": ("cd" * 32, b"\xcd" * 32),
        "intake_sync_ca_path": ("tls/ca.crt", folder / "tls" / "ca.crt"),
        "intake_sync_client_cert_path": ("/etc/lykta/sync-client.pem",
                                         Path("/etc/lykta/sync-client.pem")),
        "sync_warn_after_seconds": (60, 60),
        "bridge_interval_seconds": (15, 15),
        "redis_url": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        "acknowledgement_sv": ("Tack.", "Tack."),
        "acknowledgement_en": ("Thanks.", "Thanks."),
        "referral_authorities": ([{"code": "jo", "name_sv": "JO", "name_en": "The JO"}],
                                 (ReferralAuthority("jo", "JO", "The JO"),)),
        "acknowledge_automatically": (False, False),
        "intake_receipt_salt": ("0f" * 16, b"\x0f" * 16),
        "intake_receipt_argon2": ({"t": 2, "m": 16, "p": 2}, crypto.Argon2Params(2, 16, 2)),
        "smtp_host": ("mail.example.se", "mail.example.se"),
        "smtp_port": (587, 587),
        "smtp_starttls": (False, False),
        "smtp_username": ("lykta", "lykta"),
        "smtp_password_path": ("keys/smtp.pw", folder / "keys" / "smtp.pw"),
        "mail_from": ("lykta@example.se", "lykta@example.se"),
        "public_url": ("https://casework.example.se", "https://casework.example.se"),
        "acknowledge_reminder_days": (1, 1),
        "feedback_reminder_days": (7, 7),
        "retention_days": (365, 365),
        "archive_path": ("/srv/archive", Path("/srv/archive")),
        "statistics_k": (3, 3),
        "statistics_protection": (4, 4),
        "statistics_api_per_minute": (10, 10),
        "backup_public_key": ("ba" * 32, b"\xba" * 32),
    }


def minimal() -> dict[str, Any]:
    return {"secret_key": b64(b"x" * 32)}


def load(folder: Path, raw: Mapping[str, Any]) -> CaseworkConfig:
    (folder / "casework.json").write_text(json.dumps(raw))
    return CaseworkConfig.from_instance(folder)


def test_every_field_can_be_set_in_casework_json(tmp_path: Path) -> None:
    config = assert_every_field_is_read(CaseworkConfig, FILE_KEYS, every_setting(tmp_path),
                                        minimal(), partial(load, tmp_path))
    assert config.instance_path == tmp_path
    assert config.storage == Path("/srv/bodies")
    assert config.totp_key_file == tmp_path / "keys" / "totp.key"


def test_left_out_settings_keep_the_defaults_of_the_fields(tmp_path: Path) -> None:
    config = load(tmp_path, minimal())
    assert config.database_url == f"sqlite:///{tmp_path / 'casework.sqlite'}"
    assert config.signing_key_path == tmp_path / "casework-signing.seed"
    assert config.storage == tmp_path / "casework-storage"
    assert config.totp_key_file == tmp_path / "totp.key"
    assert config.argon2 == crypto.PRODUCTION and config.https


def test_null_or_empty_leaves_an_optional_setting_unset(tmp_path: Path) -> None:
    config = load(tmp_path, {**minimal(), "escrow_public_key": "", "redis_url": None,
                             "totp_key": None, "intake_sync_url": ""})
    assert config.escrow_public_key is None and config.redis_url is None
    assert config.totp_key_path is None and config.intake_sync_url is None


def test_the_secret_key_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secret_key"):
        load(tmp_path, {"https": False})


def test_an_unknown_setting_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting.*lockout_treshold"):
        load(tmp_path, {**minimal(), "lockout_treshold": 3})
    with pytest.raises(ConfigError, match="totp_key_path"):  # the file says "totp_key"
        load(tmp_path, {**minimal(), "totp_key_path": "totp.key"})


def test_every_setting_refuses_a_wrong_type_by_name(tmp_path: Path) -> None:
    assert_every_field_refuses_a_wrong_type(CaseworkConfig, FILE_KEYS, minimal(),
                                            partial(load, tmp_path))


@pytest.mark.parametrize(("key", "value"), [
    ("database_url", ""), ("secret_key", b64(b"x" * 31)), ("session_idle_seconds", 0),
    ("session_absolute_seconds", 60), ("lockout_threshold", 0), ("lockout_base_seconds", 0),
    ("lockout_max_seconds", 10), ("failure_memory_seconds", 3600), ("enrolment_seconds", 0),
    ("totp_issuer", " "), ("totp_issuer", "Lykta:Kommun"), ("directory_valid_days", 0),
    ("escrow_public_key", "ab" * 31), ("intake_sync_url", "ftp://intake"),
    ("intake_verify_key", "cd" * 33), ("sync_warn_after_seconds", -5),
    ("redis_url", "localhost:6379"), ("acknowledgement_sv", "   "),
    ("acknowledgement_en", "\n"),
])
def test_an_out_of_range_value_is_refused_by_name(tmp_path: Path, key: str,
                                                  value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        load(tmp_path, {**minimal(), key: value})


def test_a_missing_or_malformed_file_is_refused(tmp_path: Path) -> None:
    assert_a_bad_file_is_refused(CaseworkConfig.from_instance, tmp_path / "casework.json")
