"""Intake refuses to start without a valid, current, signed recipient directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

import crypto
from intake import DirectoryRefused, IntakeConfig, create_app

from .conftest import People


def test_valid_directory_starts(app: Flask) -> None:
    assert app.extensions["lykta.intake"].directory.serial == 1


def test_missing_directory_is_refused_clearly(intake_config: IntakeConfig) -> None:
    intake_config.directory_path.unlink()
    with pytest.raises(DirectoryRefused, match="no recipient directory"):
        create_app(intake_config)


def test_unsigned_directory_is_refused(intake_config: IntakeConfig) -> None:
    intake_config.directory_path.write_bytes(b'{"format": "lykta-recipient-directory/1"}')
    with pytest.raises(DirectoryRefused, match="unsigned or malformed"):
        create_app(intake_config)


def test_directory_signed_by_another_key_is_refused(
    intake_config: IntakeConfig, people: People
) -> None:
    intake_config.directory_path.write_bytes(
        people.directory(signer=crypto.SigningKey.generate()))
    with pytest.raises(DirectoryRefused, match="not signed by the pinned casework key"):
        create_app(intake_config)


def test_one_flipped_byte_is_refused(intake_config: IntakeConfig, people: People) -> None:
    document = bytearray(people.directory())
    document[len(document) // 2] ^= 1
    intake_config.directory_path.write_bytes(bytes(document))
    with pytest.raises(DirectoryRefused):
        create_app(intake_config)


def test_expired_directory_is_refused(intake_config: IntakeConfig, people: People) -> None:
    intake_config.directory_path.write_bytes(people.directory(valid_for=dt.timedelta(days=1)))
    with pytest.raises(DirectoryRefused, match="expired"):
        create_app(intake_config, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))


def test_rollback_to_an_older_directory_is_refused(
    intake_config: IntakeConfig, people: People
) -> None:
    intake_config.directory_path.write_bytes(people.directory(serial=5))
    create_app(intake_config)
    intake_config.directory_path.write_bytes(people.directory(serial=4))
    with pytest.raises(DirectoryRefused, match="older than the one in force"):
        create_app(intake_config)
    intake_config.directory_path.write_bytes(people.directory(serial=6))
    assert create_app(intake_config).extensions["lykta.intake"].directory.serial == 6


def test_directory_with_a_mismatched_key_id_is_refused(
    intake_config: IntakeConfig, people: People
) -> None:
    from common.directory import sign_directory

    body = crypto.verify_document(people.casework_key.verify_key, people.directory(),
                                  purpose="recipient-directory").body
    first_id = people.ethics["Eva Etik"].public_key.key_id_hex
    forged = body.replace(first_id.encode(), b"0" * 32)
    intake_config.directory_path.write_bytes(sign_directory(forged, people.casework_key))
    with pytest.raises(DirectoryRefused, match="key id does not match"):
        create_app(intake_config)


def test_config_loads_from_an_instance_folder(
    intake_config: IntakeConfig, tmp_path: Path
) -> None:
    import base64
    import json

    (tmp_path / "intake.json").write_text(json.dumps({
        "secret_key": base64.b64encode(b"k" * 32).decode(),
        "instance_salt": base64.b64encode(b"s" * 16).decode(),
        "casework_verify_key": base64.b64encode(intake_config.casework_verify_key).decode(),
        "argon2": {"t": 1, "m": 8, "p": 1},
        "directory": intake_config.directory_path.name,
    }))
    loaded = IntakeConfig.from_instance(tmp_path)
    assert loaded.directory_path == intake_config.directory_path
    assert create_app(loaded).extensions["lykta.intake"].config.argon2.memory_kib == 8


def test_invalid_config_is_refused_clearly(intake_config: IntakeConfig) -> None:
    from intake.config import ConfigError

    with pytest.raises(ConfigError, match="secret_key"):
        replace(intake_config, secret_key=b"short")
    with pytest.raises(ConfigError, match="onion"):
        replace(intake_config, onion_address="example.com")


def test_no_reviewer_left_means_a_clear_503(make_app: Callable[..., Flask],
                                            intake_config: IntakeConfig,
                                            people: People) -> None:
    from .conftest import report_form

    # The service's fault, not the tipster's: the directory lists no reviewer at all.
    # (Excluding every reviewer is the tipster's choice: a 400 on the form,
    # tests/intake/test_exclusions.py.)
    people.ethics, people.anticorruption = {}, {}
    intake_config.directory_path.write_bytes(people.directory())
    app = make_app()
    client = app.test_client()
    response = client.post("/submit", data=report_form(client),
                           content_type="multipart/form-data")
    assert response.status_code == 503
