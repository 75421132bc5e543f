"""The bridge's intake side: a separate WSGI app for the internal interface only.

``intake.bridge.sync:create_app`` serves signed requests from casework (pull, fetch, ack,
push, command) and signs every response. The public intake app never routes here. Casework initiates
every connection; intake never connects to casework.

Every request must verify under the pinned casework key, carry the purpose of its route,
be within the clock-skew window and have an unseen nonce (kept in the database, so all
workers share it and restarts do not reopen a replay window). Refusals are logged with
the reason only, never content. What crosses is the contract's items in their one wire
form (``common.contract``): the same as in the air-gap bundles.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

import crypto
from common import logs
from common.contract import REQUESTS, Audience, CommandItem, ReplyItem, SyncPurpose
from common.health import install as install_health
from common.health import readiness_for
from common.startup import configured, exclusive
from common.storage import EnvelopeStore
from common.sync_schema import Malformed, parse_json, validate

from .. import db as db_module
from .. import migrate
from ..config import IntakeConfig
from ..models import StoredEnvelope, SyncNonce, SyncState
from .commands import apply_commands
from .outbox import PushRefused, accept_for_tipster, acknowledge, outbox

log = logging.getLogger("lykta.intake.sync")
# The list in each request whose length intake's batch limit bounds.
_LISTS = {SyncPurpose.ACK: "envelope_ids", SyncPurpose.PUSH: "items",
          SyncPurpose.COMMAND: "commands"}
MAX_REQUEST = 20 * 1024 * 1024
SIGNATURE_HEADER = "Lykta-Signed"


class DatabaseReplayCache:
    """A :class:`crypto.ReplayCache` in the intake database."""

    def __init__(self, database: db_module.Database) -> None:
        self._db = database

    def remember(self, nonce: bytes, expires_at: float) -> bool:
        """Store ``nonce``; False if it is already there (a replay)."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        try:
            with self._db.session() as session:
                session.execute(delete(SyncNonce).where(SyncNonce.expires_at < now))
                session.add(SyncNonce(nonce=nonce, expires_at=dt.datetime.fromtimestamp(
                    expires_at, dt.UTC).replace(tzinfo=None)))
        except IntegrityError:
            return False
        return True


@dataclass(frozen=True)
class _Holdings:
    db: db_module.Database
    store: EnvelopeStore


def _signed(key: crypto.SigningKey, purpose: SyncPurpose, body: bytes, request_nonce: bytes,
            status: int = 200) -> Response:
    message = crypto.sign_message(key, purpose=purpose.response, body=body,
                                  in_reply_to=request_nonce)
    return Response(message, status=status, mimetype="application/octet-stream")


def create_app(config: IntakeConfig | None = None) -> Flask:
    """The sync app. Refuses to start without intake's signing key."""
    configured("intake sync", lambda: logs.configure_from(os.environ))
    if config is None:  # from the file and the environment: a clean stop if invalid
        from .. import default_instance

        config = configured("intake sync",
                            lambda: IntakeConfig.from_instance(default_instance()))
    if config.sync_signing_seed is None:
        raise RuntimeError("intake.json has no sync_signing_seed: the bridge cannot sign")
    signing_key = crypto.SigningKey.from_seed(config.sync_signing_seed)
    casework_key = crypto.VerifyKey(config.casework_verify_key)
    # No static files and no slash redirects: the bridge has five exact paths, and a
    # redirect would copy the raw query string (a line break too) into a Location header.
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    database = db_module.Database(config.database_url)
    with exclusive(config.instance_path, "intake-startup"):
        migrate.upgrade(config.database_url)
    store = EnvelopeStore(config.storage_path)
    replay_cache = DatabaseReplayCache(database)
    # The same probes as the public app's (common/health.py): GET only, unsigned, and
    # they say nothing but "ok" or which check fails.
    install_health(app, readiness_for("intake", database_url=config.database_url,
                                      storage=config.storage_path))

    intake = _Holdings(database, store)  # the bridge never seals: no directory, no keys
    # No unit of work per request here (common/unit_of_work.py), on purpose: a request's
    # nonce and the time of the last verified request must be committed even when the
    # request is then refused (a 400), an ack deletes bodies only after its rows' deletion
    # is committed, and each pushed item (and each command) is applied in a transaction
    # of its own, so one refused or racing item does not roll back the others it came with.

    @app.post("/v1/<purpose>")
    def handle(purpose: str) -> Response:
        if purpose not in set(SyncPurpose):
            return Response("unknown purpose\n", status=404, mimetype="text/plain")
        return _answer(SyncPurpose(purpose))

    def _answer(purpose: SyncPurpose) -> Response:
        try:
            message = crypto.verify_message(casework_key, request.get_data(), purpose=purpose,
                                            replay_cache=replay_cache)
        except crypto.SyncMessageError as exc:
            # The reason only: never the message, never the peer's address.
            log.warning("sync request refused: %s", type(exc).__name__)
            return Response(f"refused: {type(exc).__name__}\n", status=401,
                            mimetype="text/plain")
        try:
            with database.session() as session:
                state = session.get(SyncState, "last_request")
                now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                if state is None:
                    session.add(SyncState(name="last_request", at=now))
                else:
                    state.at = now
        except IntegrityError:
            # The first two requests ever, at once (two casework workers): the other
            # inserted the row a moment ago, which records this request's time as well.
            pass
        try:
            # The whole message is checked before anything acts on it: a signature says
            # who sent it, not that it is well formed (all or nothing, never half applied).
            body = validate(REQUESTS[purpose], parse_json(message.body))
            if purpose in (SyncPurpose.ACK, SyncPurpose.PUSH, SyncPurpose.COMMAND):
                count = len(body[_LISTS[purpose]])
                if count > config.sync_batch_limit:
                    raise Malformed(f"more than {config.sync_batch_limit} items")
        except Malformed as exc:
            # Signed, so casework knows the refusal is intake's and not a forger's; the
            # reason names the field, never its value.
            log.warning("sync request refused: malformed %s body (%s)", purpose, exc)
            return _signed(signing_key, purpose, json.dumps({"error": str(exc)}).encode(),
                           message.nonce, status=400)
        if purpose == SyncPurpose.PULL:
            limit = min(int(body["batch"]), config.sync_batch_limit)
            items = [o.item().to_wire() for o in outbox(intake, limit)]
            return _signed(signing_key, purpose, json.dumps({"items": items}).encode(),
                           message.nonce)
        if purpose == SyncPurpose.FETCH:
            return _fetch(intake, signing_key, body["envelope_id"], message.nonce)
        if purpose == SyncPurpose.ACK:
            deleted = acknowledge(intake, body["envelope_ids"])
            return _signed(signing_key, purpose, json.dumps({"deleted": deleted}).encode(),
                           message.nonce)
        if purpose == SyncPurpose.COMMAND:
            return _commands(intake, signing_key, body["commands"], message.nonce)
        stored, refused = [], []
        item: ReplyItem
        for item in body["items"]:
            try:
                if len(item.body) > config.sync_max_push_bytes:
                    raise PushRefused("the body is over the push limit")
                accept_for_tipster(intake, item)
            except PushRefused as exc:
                # Refused for good (an unknown receipt, parts that do not belong together,
                # too large): said so, so casework stops pushing it, and logged by reason.
                log.warning("push item refused: %s", exc)
                refused.append(item.envelope_id)
            else:
                stored.append(item.envelope_id)
        return _signed(signing_key, purpose,
                       json.dumps({"stored": stored, "refused": refused}).encode(),
                       message.nonce)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        # 404, 405, 413, a short body, a bad Host: the client's mistake keeps its own
        # 4xx status (a catch-all 500 would hide it and page the operator for nothing).
        if error.code is None or error.code < 400:
            return error  # redirects and the like answer as Werkzeug builds them
        log.warning("sync request refused: HTTP %s", error.code)
        return Response(f"{error.code} {error.name}\n", status=error.code,
                        mimetype="text/plain")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.error("sync error: %s", type(error).__name__)
        return Response("error\n", status=500, mimetype="text/plain")

    return app


def _commands(intake: _Holdings, key: crypto.SigningKey, items: list[CommandItem],
              nonce: bytes) -> Response:
    """Apply casework's commands, each in a transaction of its own; say which took."""
    outcome = apply_commands(intake, items)
    for command_id, reason in outcome.refused:
        # Refused for good (a lookup token or key of another receipt, say): casework keeps
        # the command and reports it. Logged by id and reason code, never by value.
        log.warning("command %s refused: %s", command_id, reason.value)
    answer = {"applied": outcome.applied,
              "refused": [{"id": i, "reason": r.value} for i, r in outcome.refused]}
    return _signed(key, SyncPurpose.COMMAND, json.dumps(answer).encode(), nonce)


def _fetch(intake: _Holdings, key: crypto.SigningKey, envelope_id: str, nonce: bytes) -> Response:
    """Stream one body; its digest and size travel in a signed header, not in memory."""
    with intake.db.session() as session:
        envelope = session.scalar(select(StoredEnvelope).where(
            StoredEnvelope.id == envelope_id, StoredEnvelope.audience == Audience.CASEWORK))
    if envelope is None:
        return Response("no such envelope\n", status=404, mimetype="text/plain")
    digest, size = hashlib.sha256(), 0
    try:
        with intake.store.open(envelope.id) as body:
            for chunk in iter(lambda: body.read(1 << 16), b""):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        # A row without its body (a disk restored from an older backup): the operator's
        # problem, not casework's; it stays listed until someone looks.
        log.error("sync: an envelope's body is missing from the store")
        return Response("no such envelope\n", status=404, mimetype="text/plain")
    signed = crypto.sign_message(key, purpose=SyncPurpose.FETCH.response, in_reply_to=nonce,
                                 body=json.dumps(
        {"envelope_id": envelope.id, "size": size, "sha256": digest.hexdigest()}).encode())

    def stream() -> Any:
        with intake.store.open(envelope.id) as body:
            yield from iter(lambda: body.read(1 << 16), b"")

    response = Response(stream(), mimetype="application/octet-stream")
    response.headers[SIGNATURE_HEADER] = base64.b64encode(signed).decode()
    response.headers["Content-Length"] = str(size)
    return response
