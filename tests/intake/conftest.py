"""Fixtures for intake: a real app on real SQLite, with a signed directory and real keys."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crypto
from common.directory import Listed, UnitEntry, build_directory, sign_directory
from intake import IntakeConfig, create_app
from intake.categories import CATEGORIES
from tests.support.databases import app_database


@dataclass
class People:
    """Everyone who holds a key, with their private keys (as casework would)."""

    casework_key: crypto.SigningKey
    escrow: crypto.PrivateKey
    ethics: dict[str, crypto.PrivateKey] = field(default_factory=dict)
    anticorruption: dict[str, crypto.PrivateKey] = field(default_factory=dict)
    custodian: crypto.PrivateKey = field(default_factory=crypto.PrivateKey.generate)

    def everyone(self) -> dict[str, crypto.PrivateKey]:
        return {**self.ethics, **self.anticorruption, "custodian": self.custodian,
                "escrow": self.escrow}

    def directory(self, *, serial: int = 1, valid_for: dt.timedelta = dt.timedelta(days=30),
                  signer: crypto.SigningKey | None = None) -> bytes:
        body = build_directory(
            serial=serial,
            units=[
                UnitEntry("etik", {"sv": "Etikkommittén", "en": "Ethics committee"},
                          [Listed(n, k.public_key) for n, k in self.ethics.items()],
                          alternate_unit="akt"),
                UnitEntry("akt", {"sv": "Antikorruptionsteamet", "en": "Anti-corruption team"},
                          [Listed(n, k.public_key) for n, k in self.anticorruption.items()],
                          alternate_unit="etik"),
            ],
            routes={**{c: "etik" for c in CATEGORIES},
                    "corruption": "akt", "procurement": "akt", "funds": "akt"},
            escrow=self.escrow.public_key,
            custodians=[Listed("Cecilia Custodian", self.custodian.public_key)],
            valid_for=valid_for,
        )
        return sign_directory(body, signer or self.casework_key)


@pytest.fixture
def people() -> People:
    return People(
        casework_key=crypto.SigningKey.generate(),
        escrow=crypto.PrivateKey.generate(),
        ethics={"Eva Etik": crypto.PrivateKey.generate(),
                "Erik Etik": crypto.PrivateKey.generate()},
        anticorruption={"Anna Akt": crypto.PrivateKey.generate()},
    )


@pytest.fixture
def intake_config(tmp_path: Path, people: People,
                  argon2_params: crypto.Argon2Params) -> IntakeConfig:
    directory = tmp_path / "directory.signed"
    directory.write_bytes(people.directory())
    return IntakeConfig(
        instance_path=tmp_path,
        database_url=app_database("intake", tmp_path),  # a migrated copy: faster
        storage_path=tmp_path / "storage",
        secret_key=b"k" * 32,
        casework_verify_key=people.casework_key.verify_key.raw,
        directory_path=directory,
        instance_salt=b"s" * 16,
        argon2=argon2_params,
        login_floor_seconds=0.0,
        max_file_bytes=2 * 1024 * 1024,
        max_request_bytes=30 * 1024 * 1024,
    )


@pytest.fixture
def make_app(intake_config: IntakeConfig) -> Callable[..., Flask]:
    def build(**changes: object) -> Flask:
        app = create_app(replace(intake_config, **changes))  # type: ignore[arg-type]
        app.config["TESTING"] = True
        return app
    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def report_form(client: FlaskClient, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": csrf_token(client, "/submit"),
        "category": "ethics",
        "agency": "Skatteverket",
        "agency_other": "",
        "what": "The head of unit hired a relative.",
        "when": "Spring 2026",
        "who": "Head of unit",
        "identity": "anonymous",
        "name": "",
        "contact": "",
    }
    form.update(overrides)
    return form


RECEIPT = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')


def submit(client: FlaskClient, **overrides: object) -> str:
    """Submit a report through the form; return the receipt code."""
    response = client.post("/submit", data=report_form(client, **overrides),
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    match = RECEIPT.search(response.get_data(as_text=True))
    assert match
    return match.group(1)


def sign_in(client: FlaskClient, receipt: str) -> None:
    response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                           "receipt": receipt})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
