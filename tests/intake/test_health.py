"""Health and readiness of the intake app and its sync app (common/health.py).

``/healthz`` says the process answers; ``/readyz`` that the database, its schema and the
envelope store are usable. Neither says anything else: no version, no host, no path, no
error text, no cookie, nothing cached.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.test import TestResponse

from common import health
from intake.bridge.sync import create_app as create_sync_app
from intake.config import IntakeConfig

READY = {"status": "ready", "checks": {"database": "ok", "schema": "ok", "storage": "ok"}}


@pytest.fixture(params=["intake", "sync"])
def any_app(request: pytest.FixtureRequest, intake_config: IntakeConfig) -> Flask:
    """The public intake app and the sync app answer the same."""
    if request.param == "intake":
        found: Flask = request.getfixturevalue("app")
        return found
    return create_sync_app(replace(intake_config, sync_signing_seed=secrets.token_bytes(32)))


def assert_says_nothing_more(response: TestResponse, config: IntakeConfig) -> None:
    assert response.headers["Cache-Control"].startswith("no-store")
    assert "Set-Cookie" not in response.headers
    assert "Server" not in response.headers
    body = response.get_data(as_text=True)
    for secret in (str(config.instance_path), str(config.storage_path), "sqlite",
                   "postgresql", "Error", "Traceback", "lykta@"):
        assert secret not in body


def test_healthz_says_ok_and_nothing_else(any_app: Flask, intake_config: IntakeConfig) -> None:
    response = any_app.test_client().get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok\n")
    assert response.mimetype == "text/plain"
    assert_says_nothing_more(response, intake_config)


def test_readyz_lists_the_checks_that_pass(any_app: Flask, intake_config: IntakeConfig) -> None:
    response = any_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == READY
    assert_says_nothing_more(response, intake_config)


def test_a_probe_never_sets_the_session_cookie(app: Flask, intake_config: IntakeConfig) -> None:
    # A cookie of another shape is cleared by the request guard; the probe still answers
    # without a Set-Cookie (it has no session to keep or end).
    client = app.test_client()
    client.set_cookie("lykta_intake", "forged.value.here")
    for path in ("/healthz", "/readyz"):
        assert "Set-Cookie" not in client.get(path).headers


def test_a_missing_store_is_failing_and_logged_by_name_only(
    any_app: Flask, intake_config: IntakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(intake_config.storage_path)
    caplog.set_level(logging.DEBUG)
    response = any_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.get_data()) == {
        "status": "not ready",
        "checks": {"database": "ok", "schema": "ok", "storage": "failing"}}
    assert_says_nothing_more(response, intake_config)
    assert "readiness check storage failing: FileNotFoundError" in caplog.text
    assert str(intake_config.storage_path) not in caplog.text


def test_a_database_behind_this_codes_migrations_is_not_ready(
    app: Flask, intake_config: IntakeConfig
) -> None:
    # As after another node migrated to newer code, or before anyone migrated.
    database = app.extensions["lykta.intake"].db
    with database.session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    body = json.loads(app.test_client().get("/readyz").get_data())
    assert body["checks"] == {"database": "ok", "schema": "failing", "storage": "ok"}


def test_an_unreachable_database_fails_fast_without_saying_where(
    app: Flask, intake_config: IntakeConfig, tmp_path: Path,
    caplog: pytest.LogCaptureFixture
) -> None:
    password = "hunter2-" + secrets.token_hex(4)
    nowhere = f"postgresql+psycopg://lykta:{password}@/lykta?host={tmp_path / 'no-server'}"
    health.install(app, health.readiness_for("intake", database_url=nowhere,
                                             storage=intake_config.storage_path))
    caplog.set_level(logging.DEBUG)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.get_data())["checks"] == {
        "database": "failing", "schema": "failing", "storage": "ok"}
    assert password not in response.get_data(as_text=True) + caplog.text
    assert "no-server" not in response.get_data(as_text=True) + caplog.text


def test_the_probes_take_get_only(any_app: Flask) -> None:
    client = any_app.test_client()
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
