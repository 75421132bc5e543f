"""Signing in with a receipt, the dialogue, follow-ups, sign-out and timeouts."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import base64_decode
from sqlalchemy import select

import crypto
from intake.models import ReceiptRecord, TipsterSession
from intake.sealing import seal_json

from .conftest import People, csrf_token, sign_in, submit
from .test_reporting import envelopes, intake_of, open_envelope


def receipt_id(app: Flask) -> str:
    with intake_of(app).db.session() as session:
        (record,) = session.scalars(select(ReceiptRecord))
        return record.id


def deliver(app: Flask, payload: dict[str, object]) -> str:
    """Store an item sealed to the tipster key, as a reply pushed by casework ends up."""
    intake, rid = intake_of(app), receipt_id(app)
    with intake.unit() as unit:
        record = unit.session.get(ReceiptRecord, rid)
        assert record is not None
        return seal_json(unit.session, intake.store, receipt_id=record.id,
                         audience="tipster", kind=str(payload.get("type", "message")),
                         recipients=[crypto.PublicKey(record.tipster_public_key)],
                         payload=dict(payload))


def send(client: FlaskClient, text: str, **extra: object) -> object:
    return client.post("/dialogue/message",
                       data={"csrf_token": csrf_token(client, "/dialogue"), "text": text,
                             **extra},
                       content_type="multipart/form-data")


def test_tipster_sees_status_replies_and_own_messages(app: Flask, client: FlaskClient) -> None:
    receipt = submit(client, agency="Skatteverket")
    with app.app_context():
        deliver(app, {
            "type": "message", "author": "reviewer", "text": "Which year was this?",
            "sent_at": "2099-01-01T10:00:00+00:00"})
        deliver(app, {
            "type": "status", "stage": "investigating", "sent_at": "2099-01-02T00:00:00+00:00"})
    sign_in(client, receipt.lower().replace("-", " "))
    page = client.get("/dialogue").get_data(as_text=True)
    assert "Which year was this?" in page
    assert "Skatteverket" in page
    assert 'id="case-status"' in page
    assert "Under investigation" in page or "Utreds" in page or "investigat" in page.lower()


def test_follow_up_reaches_the_case_readers_and_the_tipster_copy(
    app: Flask, client: FlaskClient, people: People
) -> None:
    sign_in(client, submit(client, category="ethics"))
    response = send(client, "It was 2025.", files=[(io.BytesIO(b"more evidence"), "e.txt")])
    assert response.status_code == 302  # type: ignore[attr-defined]
    (message,) = envelopes(app, kind="message")
    eva = people.ethics["Eva Etik"]
    assert json.loads(open_envelope(app, message, eva))["text"] == "It was 2025."
    (file,) = envelopes(app, kind="file")
    assert open_envelope(app, file, people.escrow) == b"more evidence"
    page = client.get("/dialogue").get_data(as_text=True)
    assert "It was 2025." in page and "e.txt" in page


def test_wrong_typo_and_unknown_codes_get_distinct_clear_pages(client: FlaskClient) -> None:
    real = submit(client)
    typo = real[:-1] + ("A" if real[-1] != "A" else "B")
    unknown = crypto.generate_receipt()
    answers = {}
    for name, code in (("malformed", "hello"), ("typo", typo), ("unknown", unknown)):
        response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                               "receipt": code})
        answers[name] = (response.status_code, response.get_data(as_text=True))
    assert answers["malformed"][0] == 400
    assert answers["typo"][0] == 400
    assert answers["unknown"][0] == 401
    titles = {name: page.split("<h1>")[1].split("</h1>")[0] for name, (_, page) in answers.items()}
    assert len(set(titles.values())) == 3


def test_known_and_unknown_codes_cost_the_same_derivations(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = submit(client)
    calls: list[str] = []
    original = crypto.derive_receipt_keys

    def counting(code: str, salt: bytes, params: crypto.Argon2Params) -> crypto.ReceiptKeys:
        calls.append(code)
        return original(code, salt, params)

    monkeypatch.setattr(crypto, "derive_receipt_keys", counting)
    for code in (real, crypto.generate_receipt()):
        client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                    "receipt": code})
    assert len(calls) == 2


def test_login_waits_for_the_floor(make_app: object) -> None:
    import time

    app = make_app(login_floor_seconds=0.3)  # type: ignore[operator]
    client = app.test_client()
    started = time.monotonic()
    client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                "receipt": crypto.generate_receipt()})
    # A lower bound only (never an upper one): the answer is held back to the floor.
    assert time.monotonic() - started >= 0.3


def _cookie_payload(client: FlaskClient) -> bytes:
    cookie = client.get_cookie("lykta_intake")
    assert cookie is not None
    raw = cookie.value
    compressed = raw.startswith(".")
    data = base64_decode(raw.lstrip(".").split(".")[0])
    return zlib.decompress(data) if compressed else data


def test_cookie_alone_and_session_store_alone_decrypt_nothing(
    app: Flask, client: FlaskClient
) -> None:
    receipt = submit(client)
    sign_in(client, receipt)
    payload = _cookie_payload(client)
    assert receipt.encode() not in payload and receipt.replace("-", "").encode() not in payload
    secret = base64.b64decode(json.loads(payload)["tipster"]["secret"])
    with intake_of(app).db.session() as session:
        (row,) = session.scalars(select(TipsterSession))
    # The stored row opens only with the cookie's secret; the secret alone opens nothing.
    with pytest.raises(crypto.DecryptionError):
        crypto.unlock_key(row.locked_key, crypto.new_session_secret())
    assert crypto.unlock_key(row.locked_key, secret).public_key.raw
    assert row.purge_after.minute == 0 and row.purge_after.second == 0


def test_sign_out_destroys_the_server_half(app: Flask, client: FlaskClient) -> None:
    sign_in(client, submit(client))
    saved = client.get_cookie("lykta_intake")
    assert saved is not None
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/dialogue")})
    assert response.status_code == 302
    with intake_of(app).db.session() as session:
        assert list(session.scalars(select(TipsterSession))) == []
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("lykta_intake", saved.value)
    assert client.get("/dialogue").status_code == 401


def test_idle_session_is_signed_out(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    sign_in(client, submit(client))
    assert client.get("/dialogue").status_code == 200
    later = time.time() + 16 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/dialogue")
    assert response.status_code == 401
    assert "<h1>" in response.get_data(as_text=True)


def test_dialogue_without_session_is_a_clear_401(client: FlaskClient) -> None:
    response = client.get("/dialogue")
    assert response.status_code == 401


def test_expired_session_rows_are_purged_at_next_sign_in(app: Flask, client: FlaskClient) -> None:
    receipt = submit(client)
    sign_in(client, receipt)
    with intake_of(app).db.session() as session:
        for row in session.scalars(select(TipsterSession)):
            row.purge_after = dt.datetime(2000, 1, 1)
    sign_in(app.test_client(), receipt)
    with intake_of(app).db.session() as session:
        assert len(list(session.scalars(select(TipsterSession)))) == 1


def test_messages_sent_in_the_same_second_keep_their_order(app: Flask,
                                                           client: FlaskClient) -> None:
    sign_in(client, submit(client))
    for index in range(5):
        send(client, f"message number {index}")
    page = client.get("/dialogue").get_data(as_text=True)
    positions = [page.index(f"message number {index}") for index in range(5)]
    assert positions == sorted(positions)
