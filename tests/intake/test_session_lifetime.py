"""Tipster sessions end an hour (configurable) after sign-in, however active."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import IntakeConfig
from intake.config import ConfigError
from intake.models import TipsterSession

from .conftest import sign_in, submit


def _sessions(app: Flask) -> int:
    with app.extensions["lykta.intake"].db.session() as session:
        return int(session.scalar(select(func.count()).select_from(TipsterSession)) or 0)


def test_an_active_session_is_signed_out_after_the_absolute_lifetime(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client, submit(client))
    start = time.time()
    # Active every ten minutes: the idle limit (15 min) never strikes.
    for minutes in range(10, 60, 10):
        monkeypatch.setattr(time, "time", lambda m=minutes: start + m * 60)
        assert client.get("/dialogue").status_code == 200, minutes
    monkeypatch.setattr(time, "time", lambda: start + 61 * 60)
    response = client.get("/dialogue")
    assert response.status_code == 401
    assert _sessions(app) == 0  # the server half is gone too, not only the cookie
    monkeypatch.setattr(time, "time", lambda: start + 62 * 60)
    assert client.get("/dialogue").status_code == 401


def test_the_absolute_lifetime_is_configurable(
        make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(session_idle_seconds=60, session_absolute_seconds=120)
    client = app.test_client()
    sign_in(client, submit(client))
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 50)
    assert client.get("/dialogue").status_code == 200
    monkeypatch.setattr(time, "time", lambda: start + 100)
    assert client.get("/dialogue").status_code == 200
    monkeypatch.setattr(time, "time", lambda: start + 125)
    assert client.get("/dialogue").status_code == 401


def test_an_idle_limit_longer_than_the_absolute_one_is_refused(
        intake_config: IntakeConfig, tmp_path: Path) -> None:
    from dataclasses import replace

    with pytest.raises(ConfigError, match="session_absolute_seconds"):
        replace(intake_config, session_idle_seconds=7200, session_absolute_seconds=3600)
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    raw = {"secret_key": b64(b"a" * 32), "casework_verify_key": b64(b"b" * 32),
           "instance_salt": b64(b"c" * 16), "session_absolute_seconds": 1800}
    assert IntakeConfig.from_dict(raw, tmp_path).session_absolute_seconds == 1800
    del raw["session_absolute_seconds"]
    assert IntakeConfig.from_dict(raw, tmp_path).session_absolute_seconds == 3600
