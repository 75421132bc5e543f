"""Liveness and readiness for load balancers, systemd and the rehearsal (all three apps).

``GET /healthz`` says the process answers (200 ``ok``); it touches nothing. ``GET
/readyz`` runs the app's checks and answers 200 ``{"status": "ready", "checks": {...}}``
when every check passes, 503 ``{"status": "not ready", ...}`` with the failing ones
marked ``"failing"`` otherwise:

- ``database``: ``SELECT 1`` on a connection of its own with a short connect and
  statement timeout, so a hung database makes the probe fail instead of hang;
- ``schema``: the database is at the head of this code's migrations (a node left on
  older code after another node migrated is not ready, nor is an unmigrated database);
- ``storage``: the envelope folder exists and a file can be created in it;
- ``redis``: ``PING`` (casework only, and only when ``redis_url`` is set).

What an answer never holds: a version, a host name, a path, a database name, an
exception's text. Whoever can reach the port learns only which of these four things is
down, which the operator needs and an attacker can find out anyway. Failures are logged
by check name and exception type only (a database error's text can hold a URL with its
password). The checks write nothing to the database; the answer is never cached and sets
no cookie.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, json, session
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger("lykta.health")

EXTENSION = "lykta_health"
# Short: a probe that waits longer than its caller's own timeout is no use, and a
# readiness answer must come while the node is still worth routing to.
TIMEOUT_SECONDS = 2.0
OK, FAILING = "ok", "failing"

Check = Callable[[], None]  # raises (anything) when the thing it checks is not usable


def no_store(response: Response) -> Response:
    """The headers every health answer carries, whichever app serves it."""
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response


def schema_heads(app: str) -> frozenset[str]:
    """The head revisions of ``app``'s migration scripts (``intake`` or ``casework``)."""
    from common.migrate import Environment

    return Environment(app).heads()


def _probe_engine(url: str, timeout: float) -> Engine:
    parsed = make_url(url)
    connect_args: dict[str, object] = {}
    if parsed.get_backend_name() == "postgresql":
        # Seconds to connect, milliseconds per statement (libpq's units).
        connect_args = {"connect_timeout": max(1, round(timeout)),
                        "options": f"-c statement_timeout={round(timeout * 1000)}"}
    elif parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": timeout}
    return create_engine(url, poolclass=NullPool, hide_parameters=True,
                         connect_args=connect_args)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def storage_check(folder: Path) -> Check:
    """The ``storage`` check: ``folder`` exists and a new file can be made in it.

    A real file, not ``os.access``: root passes every permission test, and a file system
    remounted read-only or out of inodes shows only when something is created. The file
    is empty, owner-only, randomly named and removed at once (in ``incoming/``, which
    start-up sweeps anyway should a crash leave it).
    """

    def check() -> None:
        incoming = folder / "incoming"
        if not incoming.is_dir():
            raise FileNotFoundError("the storage folder is missing")
        probe = incoming / f".ready-{secrets.token_hex(8)}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()

    return check


def redis_check(url: str, *, timeout: float = TIMEOUT_SECONDS) -> Check:
    """The ``redis`` check: ``PING`` with a short connect and read timeout."""

    def check() -> None:
        from redis import Redis

        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            if not client.ping():
                raise ConnectionError("no PONG")
        finally:
            client.close()

    return check


@dataclass(frozen=True)
class Readiness:
    """An app's named checks, run in order on each ``/readyz``."""

    checks: Mapping[str, Check] = field(default_factory=dict)

    def run(self) -> tuple[dict[str, object], int]:
        """The answer's body and status."""
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                check()
            except Exception as exc:
                # Name and type only: the text can hold a URL, a path or a password.
                log.warning("readiness check %s failing: %s", name, type(exc).__name__)
                results[name] = FAILING
            else:
                results[name] = OK
        ready = all(result == OK for result in results.values())
        return ({"status": "ready" if ready else "not ready", "checks": results},
                200 if ready else 503)


def readiness_for(app_name: str, *, database_url: str, storage: Path,
                  redis_url: str | None = None) -> Readiness:
    """The checks of an app (``intake`` or ``casework``): database, schema, storage, and
    redis when a URL is given."""
    database, schema = _database_checks(database_url, schema_heads(app_name))
    checks: dict[str, Check] = {"database": database, "schema": schema,
                                "storage": storage_check(storage)}
    if redis_url:
        checks["redis"] = redis_check(redis_url)
    return Readiness(checks)


def _database_checks(url: str, heads: frozenset[str]) -> tuple[Check, Check]:
    engine = _probe_engine(url, TIMEOUT_SECONDS)
    sqlite_file = _sqlite_file(url)

    def present() -> None:
        # SQLite would create a missing file: a deleted database is failing, not empty.
        if sqlite_file is not None and not sqlite_file.is_file():
            raise FileNotFoundError("the database file is missing")

    def database() -> None:
        present()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    def schema() -> None:
        from alembic.runtime.migration import MigrationContext

        present()
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
        if current != heads:
            raise LookupError("the database is not at this code's migration head")

    return database, schema


def install(app: Flask, readiness: Readiness) -> None:
    """Give ``app`` the two probes (endpoints ``health.live`` and ``health.ready``) and
    its checks. One blueprint for all three apps: casework's permission table lists the
    endpoints as public (a probe has no staff session); on intake's public app nginx
    does not pass the paths from the onion service (ops/nginx). Neither opens a unit of
    work, so nothing is written and no audit entry is made."""
    app.extensions[EXTENSION] = readiness
    if "health" in app.blueprints:  # installed before: only the checks change
        return
    probes = Blueprint("health", __name__)
    probes.add_url_rule("/healthz", "live", live, methods=["GET"])
    probes.add_url_rule("/readyz", "ready", ready, methods=["GET"])
    app.register_blueprint(probes)


def live() -> Response:
    """``/healthz``: the process answers. Nothing else is touched."""
    return _answer(Response("ok\n", status=200, mimetype="text/plain"))


def ready() -> Response:
    """``/readyz``: every check of the app, as JSON; 503 if one fails."""
    readiness: Readiness = current_app.extensions[EXTENSION]
    body, status = readiness.run()
    return _answer(Response(json.dumps(body) + "\n", status=status,
                            mimetype="application/json"))


def _answer(response: Response) -> Response:
    # A probe has no session: should the request guard have cleared a malformed cookie
    # (or anything else touched the session), no Set-Cookie goes out with the answer.
    if current_app.secret_key:
        session.modified = False
    return no_store(response)
