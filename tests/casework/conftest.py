"""Fixtures for casework: a real app on real SQLite, real Argon2 (cheap), real TOTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crypto
from casework import CaseworkConfig, create_app
from casework.models import Role
from tests.support.casework import PASSWORD as PASSWORD
from tests.support.casework import Staff as Staff
from tests.support.casework import add_default_units
from tests.support.casework import casework_config as config_in
from tests.support.casework import csrf as csrf
from tests.support.casework import enrol as enrol_in
from tests.support.casework import log_in as log_in
from tests.support.casework import services as services
from tests.support.databases import app_database


class EnglishClient(FlaskClient):
    """A test client that chose English: casework is Swedish by default, these tests read
    its English pages (tests/casework/test_i18n.py covers the Swedish default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_cookie("lang", "en")


@pytest.fixture
def casework_config(tmp_path: Path, argon2_params: crypto.Argon2Params) -> CaseworkConfig:
    # A migrated copy: faster (tests/support/databases.py).
    return config_in(tmp_path, argon2_params, app_database("casework", tmp_path))


@pytest.fixture
def make_casework(casework_config: CaseworkConfig) -> Callable[..., Flask]:
    def build(**changes: object) -> Flask:
        app = create_app(replace(casework_config, **changes))  # type: ignore[arg-type]
        app.config["TESTING"] = True
        app.test_client_class = EnglishClient
        services(app).db.engine  # noqa: B018 (engine is created eagerly)
        add_default_units(app)
        return app
    return build


@pytest.fixture
def casework(make_casework: Callable[..., Flask]) -> Flask:
    return make_casework()


@pytest.fixture
def enrol(casework: Flask) -> Callable[..., Staff]:
    """Create and fully enrol a person (as the CLI and first sign-in would)."""

    def make(username: str, role: Role, unit: str = "etik") -> Staff:
        return enrol_in(casework, username, role, unit)

    return make


from .linked import linked  # noqa: E402, F401 (the linked intake+casework fixture)
