"""Start-up under gunicorn: several workers at once, and uploads in flight."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

from common.storage import EnvelopeStore
from intake import IntakeConfig, create_app


def test_workers_starting_together_on_a_fresh_instance_all_start(
    intake_config: IntakeConfig,
) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            create_app(intake_config)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_starting_worker_keeps_other_workers_uploads_in_flight(
    intake_config: IntakeConfig,
) -> None:
    store = EnvelopeStore(intake_config.storage_path)
    young, file = store.new_incoming()
    file.write(b"sealed bytes of an upload in progress")
    file.close()
    old, file = store.new_incoming()
    file.close()
    day_ago = time.time() - 24 * 3600
    os.utime(old, (day_ago, day_ago))
    create_app(intake_config)  # another worker starts
    assert young.exists()
    assert not old.exists()


def test_operational_settings_are_read_from_intake_json(intake_config: IntakeConfig) -> None:
    import base64

    raw = {"secret_key": base64.b64encode(b"k" * 32).decode(),
           "instance_salt": base64.b64encode(b"s" * 16).decode(),
           "casework_verify_key": base64.b64encode(intake_config.casework_verify_key).decode(),
           "argon2_wait_seconds": 7, "max_files": 3, "max_request_bytes": 2 * 1024**3,
           "max_file_bytes": 1024**3, "session_idle_seconds": 300, "csrf_seconds": 7200}
    config = IntakeConfig.from_dict(raw, intake_config.instance_path)
    assert (config.argon2_wait_seconds, config.max_files, config.max_file_bytes,
            config.session_idle_seconds, config.csrf_seconds) == (7, 3, 1024**3, 300, 7200)
    assert config.argon2_concurrency == 1  # per worker process
    assert replace(config, max_files=4).max_files == 4


def test_a_file_without_a_setting_gets_the_same_default_as_a_config_built_in_code(
        intake_config: IntakeConfig) -> None:
    """The defaults are written once: intake.json without a key and IntakeConfig without
    an argument agree (they once disagreed on argon2_concurrency: 1 against 2)."""
    import base64
    from dataclasses import MISSING, fields

    raw = {"secret_key": base64.b64encode(b"k" * 32).decode(),
           "instance_salt": base64.b64encode(b"s" * 16).decode(),
           "casework_verify_key": base64.b64encode(intake_config.casework_verify_key).decode()}
    from_file = IntakeConfig.from_dict(raw, intake_config.instance_path)
    in_code = IntakeConfig(
        instance_path=intake_config.instance_path, database_url=from_file.database_url,
        storage_path=from_file.storage_path, secret_key=b"k" * 32,
        casework_verify_key=intake_config.casework_verify_key,
        directory_path=from_file.directory_path, instance_salt=b"s" * 16)
    defaulted = [f.name for f in fields(IntakeConfig)
                 if f.default is not MISSING or f.default_factory is not MISSING]
    assert len(defaulted) > 10
    for name in defaulted:
        assert getattr(from_file, name) == getattr(in_code, name), name
