"""Fixtures for casework: a real app on real SQLite, real Argon2 (cheap), real TOTP."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from casework import CaseworkConfig, create_app
from casework.accounts import complete_enrolment, create_user
from casework.cli import DEFAULT_UNITS
from casework.models import Role, Unit, User
from casework.services import Casework

PASSWORD = "correct horse battery staple"


class EnglishClient(FlaskClient):
    """A test client that chose English: casework is Swedish by default, these tests read
    its English pages (tests/casework/test_i18n.py covers the Swedish default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_cookie("lang", "en")


@pytest.fixture
def casework_config(tmp_path: Path, argon2_params: crypto.Argon2Params) -> CaseworkConfig:
    return CaseworkConfig(
        instance_path=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'casework.sqlite'}",
        secret_key=b"c" * 32,
        signing_key_path=tmp_path / "casework-signing.seed",
        argon2=argon2_params,
    )


@pytest.fixture
def make_casework(casework_config: CaseworkConfig) -> Callable[..., Flask]:
    def build(**changes: object) -> Flask:
        app = create_app(replace(casework_config, **changes))  # type: ignore[arg-type]
        app.config["TESTING"] = True
        app.test_client_class = EnglishClient
        services(app).db.engine  # noqa: B018 (engine is created eagerly)
        with services(app).db.session() as db:
            for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
                if db.get(Unit, unit_id) is None:
                    db.add(Unit(id=unit_id, name_sv=sv, name_en=en,
                                alternate_unit_id=alternate, receives_reports=receives))
        return app
    return build


@pytest.fixture
def casework(make_casework: Callable[..., Flask]) -> Flask:
    return make_casework()


def services(app: Flask) -> Casework:
    found: Casework = app.extensions["lykta.casework"]
    return found


@dataclass
class Staff:
    """An enrolled account, with what its owner knows."""

    username: str
    password: str
    totp_secret: str
    key: crypto.PrivateKey | None

    def code(self, app: Flask) -> str:
        """A TOTP code for a time step not used before (no replay)."""
        with services(app).db.session() as db:
            user = db.scalar(select(User).where(User.username == self.username))
            assert user is not None
            last = user.totp_last_step
        step = max(last + 1, int(time.time()) // 30 - 1)
        while step > int(time.time()) // 30 + 1:
            time.sleep(1)
        return pyotp.TOTP(self.totp_secret).at(step * 30)


@pytest.fixture
def enrol(casework: Flask) -> Callable[..., Staff]:
    """Create and fully enrol a person (as the CLI and first sign-in would)."""

    def make(username: str, role: Role, unit: str = "etik") -> Staff:
        config = services(casework).config
        with services(casework).db.session() as db:
            user, _ = create_user(db, config, username=username,
                                  display_name=username.title(), unit_id=unit, role=role)
            user.totp_secret = pyotp.random_base32(32)
            secret, user_id = user.totp_secret, user.id
        step = int(time.time()) // 30 - 1
        key = complete_enrolment(services(casework).db, config, user_id=user_id,
                                 code=pyotp.TOTP(secret).at(step * 30),
                                 new_password=PASSWORD)
        return Staff(username, PASSWORD, secret, key)

    return make


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(client: FlaskClient, path: str) -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(app: Flask, client: FlaskClient, staff: Staff) -> None:
    response = client.post("/login", data={"csrf_token": csrf(client, "/login"),
                                           "username": staff.username,
                                           "password": staff.password,
                                           "code": staff.code(app)})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert response.headers["Location"] == "/"


from .linked import linked  # noqa: E402, F401 (the linked intake+casework fixture)
