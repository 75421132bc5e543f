"""Intake's sync app under fuzz-like input: no request gets a 5xx, nothing is half applied.

Every request here is either raw HTTP (errors keep their own 4xx status) or signed with
the real casework key (a compromised or buggy casework signs nonsense as easily as sense),
so the checks run after the signature verified, as they would in production.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from common.serve import build_server
from intake import IntakeConfig
from intake.bridge.sync import MAX_REQUEST
from intake.bridge.sync import create_app as create_sync_app
from intake.models import StoredEnvelope

from .conftest import People, sign_in, submit

SEED = b"\x07" * 32
INTAKE_KEY = crypto.SigningKey.from_seed(SEED)


@dataclass
class Sync:
    app: Flask
    client: FlaskClient
    casework: crypto.SigningKey
    port: int

    def post(self, purpose: str, body: object, *, raw: bytes | None = None,
             ) -> tuple[int, object]:
        """Sign ``body`` (JSON) as casework; return the status and the verified answer."""
        data = raw if raw is not None else json.dumps(body).encode()
        nonce = secrets.token_bytes(crypto.signing.NONCE_BYTES)
        message = crypto.sign_message(self.casework, purpose=purpose, body=data, nonce=nonce)
        response = self.client.post(f"/v1/{purpose}", data=message)
        payload = response.get_data()
        signed = response.status_code == 400 or (response.status_code == 200
                                                  and purpose != "fetch")
        if signed:
            answer = crypto.verify_message(
                INTAKE_KEY.verify_key, payload, purpose=f"{purpose}-response",
                in_reply_to=nonce, replay_cache=crypto.MemoryReplayCache(max_entries=1))
            return response.status_code, json.loads(answer.body)
        return response.status_code, payload


@pytest.fixture
def sync(app: Flask, intake_config: IntakeConfig, people: People) -> Iterator[Sync]:
    sync_app = create_sync_app(replace(intake_config, sync_signing_seed=SEED))
    server = build_server(sync_app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield Sync(sync_app, sync_app.test_client(), people.casework_key, server.server_port)
    finally:
        server.shutdown()


def _raw(sync: Sync, request: bytes, half_close: bool = False) -> int:
    """Send raw bytes to the real server; return the status code it answers."""
    with socket.create_connection(("127.0.0.1", sync.port), timeout=10) as conn:
        conn.sendall(request)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        status_line = conn.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def _rows(app: Flask, audience: str) -> list[StoredEnvelope]:
    with app.extensions["lykta.intake"].db.session() as session:
        return list(session.scalars(select(StoredEnvelope).where(
            StoredEnvelope.audience == audience)))


# --- (a) HTTP errors keep their status --------------------------------------------------


def test_http_errors_keep_their_status_instead_of_becoming_500(sync: Sync) -> None:
    client = sync.client
    assert client.post("/nothing-here").status_code == 404
    assert client.get("/v1/pull").status_code == 405
    assert client.post("/v1/unknown").status_code == 404
    too_big = client.post("/v1/pull", data=b"x" * (MAX_REQUEST + 1))
    assert too_big.status_code == 413


def test_a_short_body_and_a_bad_host_are_4xx_on_the_real_server(sync: Sync) -> None:
    short = (b"POST /v1/pull HTTP/1.1\r\nHost: intake\r\nContent-Length: 1000\r\n"
             b"Connection: close\r\n\r\nonly a little")
    assert 400 <= _raw(sync, short, half_close=True) < 500
    for host in (b"a" * 64 + b".example", b"bad host", b"[::1"):
        request = (b"POST /v1/pull HTTP/1.1\r\nHost: " + host
                   + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        assert 400 <= _raw(sync, request) < 500, host


# --- (b) validly signed, malformed bodies are 400, signed ------------------------------

MALFORMED = [
    ("pull", b"[]"), ("pull", b'"pull"'), ("pull", b"{}"), ("pull", b'{"batch": "50"}'),
    ("pull", b'{"batch": 1.5}'), ("pull", b'{"batch": true}'), ("pull", b'{"batch": 0}'),
    ("pull", b'{"batch": NaN}'), ("pull", b'{"batch": 1, "extra": 2}'),
    ("pull", b"[" * 100_000 + b"]" * 100_000), ("pull", b"\xff\xfe"), ("pull", b""),
    ("fetch", b"{}"), ("fetch", b'{"envelope_id": "not-hex"}'),
    ("fetch", b'{"envelope_id": "' + b"a" * 32 + b'\\n"}'),
    ("fetch", b'{"envelope_id": 12}'), ("fetch", b'{"envelope_id": ["a"]}'),
    ("ack", b'{"envelope_ids": "abc"}'), ("ack", b'{"envelope_ids": [1, 2]}'),
    ("ack", b'{"envelope_ids": [{"a": 1}]}'), ("ack", b'{"ids": []}'),
    ("push", b'{"items": {}}'), ("push", b'{"items": [1]}'),
    ("push", b'{"items": [{"receipt_id": "x"}]}'),
]


@pytest.mark.parametrize(("purpose", "body"), MALFORMED)
def test_a_signed_but_malformed_body_is_400_with_a_signed_reason(
        sync: Sync, purpose: str, body: bytes) -> None:
    status, answer = sync.post(purpose, None, raw=body)
    assert status == 400
    assert isinstance(answer, dict) and "error" in answer


def test_a_push_with_bad_base64_changes_nothing(sync: Sync, client: FlaskClient,
                                                app: Flask) -> None:
    submit(client)
    receipt_id = _rows(app, "casework")[0].receipt_id
    before = len(_rows(app, "tipster"))
    item = {"receipt_id": receipt_id, "envelope_id": "c" * 32, "kind": "message",
            "header": "!!not base64!!", "body": base64.b64encode(b"x").decode()}
    status, _ = sync.post("push", {"items": [item]})
    assert status == 400
    assert len(_rows(app, "tipster")) == before


def test_a_push_for_an_unknown_receipt_is_refused_by_item_not_answered_500(
        sync: Sync, client: FlaskClient, app: Flask) -> None:
    submit(client)
    item = {"receipt_id": "d" * 32, "envelope_id": "c" * 32, "kind": "message",
            "header": base64.b64encode(b"h").decode(),
            "body": base64.b64encode(b"b").decode()}
    status, answer = sync.post("push", {"items": [item]})
    assert status == 200
    assert answer == {"stored": [], "refused": ["c" * 32]}


def test_a_push_of_a_kind_casework_never_sends_is_400(sync: Sync) -> None:
    item = {"receipt_id": "d" * 32, "envelope_id": "c" * 32, "kind": "note",
            "header": base64.b64encode(b"h").decode(),
            "body": base64.b64encode(b"b").decode()}
    assert sync.post("push", {"items": [item]})[0] == 400


def test_fetch_of_an_unknown_envelope_is_404_not_500(sync: Sync) -> None:
    assert sync.post("fetch", {"envelope_id": "e" * 32})[0] == 404


def test_more_items_than_the_batch_limit_are_refused_whole(sync: Sync, client: FlaskClient,
                                                          app: Flask) -> None:
    submit(client)
    waiting = [row.id for row in _rows(app, "casework")]
    limit = app.extensions["lykta.intake"].config.sync_batch_limit
    ids = waiting + ["f" * 32] * limit
    assert sync.post("ack", {"envelope_ids": ids})[0] == 400
    assert [row.id for row in _rows(app, "casework")] == waiting


# --- (c) all or nothing -----------------------------------------------------------------


def test_an_ack_with_one_bad_id_among_good_ones_deletes_nothing(
        sync: Sync, client: FlaskClient, app: Flask) -> None:
    submit(client)
    store = app.extensions["lykta.intake"].store
    good = [row.id for row in _rows(app, "casework")]
    status, answer = sync.post("ack", {"envelope_ids": [*good, "not an id"]})
    assert status == 400 and "error" in answer  # type: ignore[operator]
    assert sorted(row.id for row in _rows(app, "casework")) == sorted(good)
    assert all((store.root / envelope_id).exists() for envelope_id in good)
    # The same ids, well formed, are then acknowledged normally.
    assert sync.post("ack", {"envelope_ids": good}) == (200, {"deleted": len(good)})


# --- Finding 2: an ack naming a tipster envelope ---------------------------------------


def test_an_ack_naming_a_tipster_envelope_keeps_its_body_and_the_dialogue_works(
        sync: Sync, client: FlaskClient, app: Flask) -> None:
    receipt = submit(client)
    store = app.extensions["lykta.intake"].store
    tipster_ids = [row.id for row in _rows(app, "tipster")]
    assert tipster_ids  # the tipster's own copy of the report
    assert sync.post("ack", {"envelope_ids": tipster_ids}) == (200, {"deleted": 0})
    assert all((store.root / envelope_id).exists() for envelope_id in tipster_ids)
    sign_in(client, receipt)
    assert client.get("/dialogue").status_code == 200
