"""The LYKTA_* environment variables (common/environment.py), through both apps' configs.

- every setting can come from LYKTA_<APP>_<NAME>, over the file's value;
- text is taken as it is, everything else as JSON; a *_FILE variable reads a file;
- LYKTA_REDIS_URL is casework's redis_url unless LYKTA_CASEWORK_REDIS_URL is set;
- the file may be absent when the environment carries the configuration;
- unknown variables, unreadable values and files, and both forms at once are refused,
  all reported together, each by the variable's name and never by its value.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from casework.config import CaseworkConfig
from common import environment
from common.settings import ConfigError
from intake.config import IntakeConfig

SECRET = base64.b64encode(b"s" * 32).decode()


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    (tmp_path / "casework.json").write_text(json.dumps({"secret_key": SECRET}))
    return tmp_path


def test_a_variable_is_named_after_the_file_setting() -> None:
    assert environment.variable("casework", "database_url") == "LYKTA_CASEWORK_DATABASE_URL"
    assert environment.variable("intake", "max_files") == "LYKTA_INTAKE_MAX_FILES"


def test_variables_override_the_file(instance: Path) -> None:
    config = CaseworkConfig.from_instance(instance, {
        "LYKTA_CASEWORK_DATABASE_URL": "postgresql+psycopg://lykta@/casework",
        "LYKTA_CASEWORK_HTTPS": "false",
        "LYKTA_CASEWORK_STATISTICS_K": "3",
        "LYKTA_CASEWORK_STORAGE": "/srv/bodies",
    })
    assert config.database_url == "postgresql+psycopg://lykta@/casework"
    assert config.https is False
    assert config.statistics_k == 3
    assert config.storage == Path("/srv/bodies")
    assert CaseworkConfig.from_instance(instance, {}).database_url.startswith("sqlite:///")


def test_the_shared_redis_variable_and_its_app_specific_override(instance: Path) -> None:
    shared = {"LYKTA_REDIS_URL": "redis://shared:6379/0"}
    assert CaseworkConfig.from_instance(instance, shared).redis_url == "redis://shared:6379/0"
    own = {**shared, "LYKTA_CASEWORK_REDIS_URL": "unix:///run/redis.sock"}
    assert CaseworkConfig.from_instance(instance, own).redis_url == "unix:///run/redis.sock"


def test_a_secret_comes_from_a_file(instance: Path, tmp_path: Path) -> None:
    (instance / "casework.json").write_text("{}")
    secret = tmp_path / "secret_key"
    secret.write_text(SECRET + "\n")
    config = CaseworkConfig.from_instance(
        instance, {"LYKTA_CASEWORK_SECRET_KEY_FILE": str(secret)})
    assert config.secret_key == b"s" * 32


def test_the_environment_alone_configures_an_app(tmp_path: Path) -> None:
    config = IntakeConfig.from_instance(tmp_path, {
        "LYKTA_INTAKE_SECRET_KEY": SECRET,
        "LYKTA_INTAKE_CASEWORK_VERIFY_KEY": base64.b64encode(b"v" * 32).decode(),
        "LYKTA_INTAKE_INSTANCE_SALT": base64.b64encode(b"n" * 16).decode(),
        "LYKTA_INTAKE_AGENCIES": '["Kommun A", "Region B"]',
        "LYKTA_INTAKE_DATABASE_URL": "postgresql+psycopg://lykta@/intake",
    })
    assert config.agencies == ("Kommun A", "Region B")
    assert config.database_url == "postgresql+psycopg://lykta@/intake"
    with pytest.raises(ConfigError, match=r"intake\.json not found"):
        IntakeConfig.from_instance(tmp_path, {"LYKTA_CASEWORK_HTTPS": "true"})


def test_every_problem_is_reported_at_once_by_name_never_by_value(instance: Path) -> None:
    secret_value = "hunter2-do-not-print"
    with pytest.raises(ConfigError) as caught:
        CaseworkConfig.from_instance(instance, {
            "LYKTA_CASEWORK_DATABSE_URL": secret_value,
            "LYKTA_CASEWORK_LOCKOUT_THRESHOLD": secret_value,
            "LYKTA_CASEWORK_SECRET_KEY": secret_value,
            "LYKTA_CASEWORK_SECRET_KEY_FILE": "/nonexistent",
            "LYKTA_CASEWORK_TOTP_KEY_FILE": "/nonexistent/secret",
        })
    message = str(caught.value)
    assert message.startswith("4 problems in the casework environment")
    assert "unknown environment variable LYKTA_CASEWORK_DATABSE_URL" in message
    assert "lockout_threshold (from LYKTA_CASEWORK_LOCKOUT_THRESHOLD) must be written as" \
        in message
    assert "LYKTA_CASEWORK_SECRET_KEY and LYKTA_CASEWORK_SECRET_KEY_FILE are both set" \
        in message
    assert "LYKTA_CASEWORK_TOTP_KEY_FILE: cannot read the file" in message
    assert secret_value not in message


def test_a_wrong_value_names_its_variable(instance: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        CaseworkConfig.from_instance(instance, {"LYKTA_CASEWORK_SECRET_KEY": "not base64!",
                                                "LYKTA_CASEWORK_HTTPS": "1"})
    message = str(caught.value)
    assert message.startswith("2 problems in the casework configuration")
    assert "secret_key (from LYKTA_CASEWORK_SECRET_KEY) must be base64" in message
    assert "https (from LYKTA_CASEWORK_HTTPS) must be true or false, not a number" in message
    assert "not base64!" not in message


def test_variables_of_the_other_app_and_other_lykta_names_are_left_alone(
        instance: Path) -> None:
    config = CaseworkConfig.from_instance(instance, {
        "LYKTA_INTAKE_WHATEVER": "x", "LYKTA_INSTANCE": "/srv", "LYKTA_DEMO_ARGON2": "fast"})
    assert config.https is True
