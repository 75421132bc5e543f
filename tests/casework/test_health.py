"""Health and readiness of casework (common/health.py).

A probe has no staff session: the sign-in gate lets ``/healthz`` and ``/readyz`` through
(public in the permission table), and they answer without a cookie, a cache, a unit of
work or a word about why a check fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, make_url, text

from .conftest import services


def test_a_probe_needs_no_sign_in(casework: Flask) -> None:
    client = casework.test_client()
    live = client.get("/healthz")
    assert (live.status_code, live.get_data(as_text=True)) == (200, "ok\n")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert json.loads(ready.get_data()) == {
        "status": "ready", "checks": {"database": "ok", "schema": "ok", "storage": "ok"}}
    for response in (live, ready):
        assert response.headers["Cache-Control"].startswith("no-store")
        assert "Set-Cookie" not in response.headers


def test_an_ended_session_is_neither_asked_to_sign_in_nor_given_a_cookie(
    casework: Flask
) -> None:
    client = casework.test_client()
    client.set_cookie("lykta_casework", "not-a-session")
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers


def test_a_dead_redis_is_failing(make_casework: Callable[..., Flask], tmp_path: Path) -> None:
    casework = make_casework(redis_url=f"unix://{tmp_path / 'no-redis.sock'}")
    response = casework.test_client().get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.get_data())["checks"]["redis"] == "failing"
    assert "no-redis" not in response.get_data(as_text=True)


def test_ready_on_postgresql_and_redis_without_writing(
    make_casework: Callable[..., Flask], postgres_url: str, redis_url: str
) -> None:
    casework = make_casework(database_url=postgres_url, redis_url=redis_url)
    # Every new transaction on the database is read-only from here on: a probe that
    # wrote anything (a session row, an audit entry) would fail.
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{make_url(postgres_url).database}" '
                                "SET default_transaction_read_only = on"))
    admin.dispose()
    services(casework).db.engine.dispose()
    client = casework.test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"status": "ready", "checks": {
        "database": "ok", "schema": "ok", "storage": "ok", "redis": "ok"}}
    assert client.get("/healthz").status_code == 200
