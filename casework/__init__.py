"""Lykta casework: the internal case-management app.

``create_app`` builds one app from a frozen :class:`CaseworkConfig`. With no argument
(``flask --app casework ...``) it reads the demo instance in the checkout's
``instance/`` folder, or the folder named by ``LYKTA_INSTANCE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from common import logs
from common.assets import register_assets
from common.db import Database
from common.health import install as install_health
from common.health import readiness_for
from common.http import install_security_headers
from common.request_guard import install_request_guard
from common.startup import configured, exclusive
from common.storage import EnvelopeStore
from common.unit_of_work import install as install_unit_of_work

from . import cli, errors, migrate, web
from .audit import checkpoints as audit_checkpoints
from .audit import record as audit_record
from .config import CaseworkConfig
from .i18n import init_babel
from .jobs import failures as jobs_failures
from .models import CaseEnvelope
from .services import EXTENSION, Casework

__all__ = ["CaseworkConfig", "create_app"]

CHECKOUT = Path(__file__).resolve().parent.parent


def default_instance() -> Path:
    """The instance folder used when no config is passed."""
    return Path(os.environ.get("LYKTA_INSTANCE", CHECKOUT / "instance")).resolve()


def create_app(config: CaseworkConfig | None = None) -> Flask:
    """Build the casework app."""
    configured("casework", lambda: logs.configure_from(os.environ))
    if config is None:  # from the file and the environment: a clean stop if invalid
        config = configured("casework", lambda: CaseworkConfig.from_instance(default_instance()))
    app = Flask(__name__, instance_path=str(config.instance_path))
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME="lykta_casework",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.https,
        WTF_CSRF_TIME_LIMIT=config.session_absolute_seconds,
        WTF_CSRF_SSL_STRICT=False,  # no Referer is ever sent (no-referrer)
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE="sv",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
    )
    CSRFProtect(app)
    init_babel(app)
    # Casework appends every action to the audit chain: its SQLite transactions take the
    # write lock at BEGIN (see common/db.py), so concurrent requests queue, never fork it.
    database = Database(config.database_url, immediate_writes=True)
    with exclusive(config.instance_path, "casework-startup"):
        migrate.upgrade(config.database_url)
    store = EnvelopeStore(config.storage)
    with exclusive(config.instance_path, "casework-startup"):
        store.clean_incoming()
        with database.session() as db:
            store.sweep({e.body_name for e in db.scalars(select(CaseEnvelope))})
    services = Casework(config=config, db=database, store=store)
    app.extensions[EXTENSION] = services
    # One transaction per request (casework.services.current_unit): committed when the
    # answer is below 400, rolled back otherwise; its events are dispatched after that.
    install_unit_of_work(app, database, services.dispatcher)
    # The audit log: every domain event becomes a chained entry in its action's
    # transaction, and each such transaction signs a checkpoint with a key kept in a file,
    # never in the database (created owner-only here at the first start).
    audit_checkpoints.ensure_signing_key(config.audit_signing_key_file)
    audit_record.install(services)
    # A failed job's retry or discard changes Redis only once its audit entry committed.
    jobs_failures.install(services)

    from .views import (
        admin,
        api,
        audit,
        auth,
        cases,
        conflicts,
        deadlines,
        handling,
        home,
        identity,
        jobs,
        language,
        oral,
        retention,
        statistics,
        workflow,
    )

    register_assets(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(workflow.bp)
    app.register_blueprint(handling.bp)
    app.register_blueprint(conflicts.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(identity.bp)
    app.register_blueprint(oral.bp)
    app.register_blueprint(deadlines.bp)
    app.register_blueprint(retention.bp)
    app.register_blueprint(statistics.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(language.bp)
    app.register_blueprint(jobs.bp)
    install_health(app, readiness_for("casework", database_url=config.database_url,
                                      storage=config.storage, redis_url=config.redis_url))
    web.install(app)
    errors.register_error_handlers(app)
    install_security_headers(app)
    # The one declaration of the cookie's shape lives beside the code that writes it.
    install_request_guard(app, session_shape=web.SESSION_SHAPE)
    cli.register(app)
    return app
