"""Lykta intake: the public, JavaScript-free reporting app.

``create_app`` builds one app from a frozen :class:`IntakeConfig`. With no argument
(``flask --app intake ...``) it reads the demo instance in the checkout's ``instance/``
folder, or the folder named by ``LYKTA_INSTANCE``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from common import logs
from common.assets import register_assets
from common.directory import DirectoryRefused
from common.health import install as install_health
from common.health import readiness_for
from common.http import install_security_headers
from common.i18n import init_babel
from common.request_guard import install_request_guard
from common.startup import configured, exclusive
from common.storage import EnvelopeStore
from common.unit_of_work import Dispatcher, UnitOfWork, install

from . import cli, errors, migrate
from . import db as db_module
from .config import IntakeConfig
from .gate import Argon2Gate
from .models import StoredEnvelope
from .services import EXTENSION, Intake, record_directory
from .uploads import STORE, SealingRequest

__all__ = ["DirectoryRefused", "IntakeConfig", "create_app"]

CHECKOUT = Path(__file__).resolve().parent.parent
log = logging.getLogger("lykta.intake")


def default_instance() -> Path:
    """The instance folder used when no config is passed."""
    return Path(os.environ.get("LYKTA_INSTANCE", CHECKOUT / "instance")).resolve()


def create_app(config: IntakeConfig | None = None, *, now: dt.datetime | None = None) -> Flask:
    """Build the intake app. Refuses to start without a valid signed directory."""
    configured("intake", lambda: logs.configure_from(os.environ))
    if config is None:  # from the file and the environment: a clean stop if invalid
        config = configured("intake", lambda: IntakeConfig.from_instance(default_instance()))
    app = Flask(__name__, instance_path=str(config.instance_path))
    app.request_class = SealingRequest
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_request_bytes,
        # Text fields stay in memory (never spooled); this bounds them.
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=200,
        SESSION_COOKIE_NAME="lykta_intake",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.https,
        # Uploads over Tor can take hours: the CSRF token must outlive them.
        WTF_CSRF_TIME_LIMIT=config.csrf_seconds,
        WTF_CSRF_SSL_STRICT=False,  # the Referer header is never sent (no-referrer)
        BABEL_DEFAULT_LOCALE=config.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        LYKTA_MAX_FILES=config.max_files,
        LYKTA_MAX_FILE_BYTES=config.max_file_bytes,
    )
    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)
    init_babel(app)

    database = db_module.init_app(app, config.database_url)
    dispatcher = Dispatcher()
    with exclusive(config.instance_path, "intake-startup"):
        migrate.upgrade(config.database_url)
        store = EnvelopeStore(config.storage_path)
        store.clean_incoming()
        # The start-up job is one transaction: the orphan sweep and the directory check.
        with UnitOfWork(database, dispatcher) as unit:
            store.sweep(set(unit.session.scalars(select(StoredEnvelope.id))))
            directory = record_directory(unit.session, config, now=now)
    app.extensions[STORE] = store
    app.extensions[EXTENSION] = Intake(
        config=config, db=database, store=store, directory=directory,
        gate=Argon2Gate(config.argon2_concurrency, config.argon2_wait_seconds),
        dispatcher=dispatcher,
    )
    # One unit of work per request: committed when the answer is below 400, rolled back
    # otherwise; its events reach ``dispatcher``'s subscribers only after the commit.
    install(app, database, dispatcher)

    from .views import dialogue, public, report

    register_assets(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(report.bp)
    app.register_blueprint(dialogue.bp)
    install_health(app, readiness_for("intake", database_url=config.database_url,
                                      storage=config.storage_path))
    errors.register_error_handlers(app)
    install_security_headers(app, onion_address=config.onion_address)
    install_request_guard(app, session_shape={"tipster": {"id": str, "secret": str,
                                                          "seen": int, "since": int}},
                          file_fields={"report.submit": ["files"], "dialogue.message": ["files"]})
    cli.register(app)

    @app.teardown_request
    def drop_spools(_exc: BaseException | None) -> None:
        from flask import request

        if isinstance(request, SealingRequest):
            request.discard_uncommitted_spools()

    return app
