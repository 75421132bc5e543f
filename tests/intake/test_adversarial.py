"""Hostile input: missing or wrong CSRF, XSS payloads, bad uploads, floods."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crypto

from .conftest import People, csrf_token, report_form, sign_in, submit
from .test_dialogue import deliver
from .test_reporting import envelopes, intake_of, open_envelope

XSS = '<script>alert(1)</script>"\'><img src=x onerror=alert(1)>{{7*7}}'


@pytest.mark.parametrize("token", [None, "", "forged-token"])
@pytest.mark.parametrize("path", ["/submit", "/login", "/logout", "/dialogue/message"])
def test_posts_without_a_valid_csrf_token_are_refused(
    client: FlaskClient, path: str, token: str | None
) -> None:
    data = {"receipt": "x", "text": "x", "what": "x"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "<h1>" in response.get_data(as_text=True)


def test_csrf_token_from_another_session_is_refused(app: Flask) -> None:
    first, second = app.test_client(), app.test_client()
    token = csrf_token(first, "/submit")
    csrf_token(second, "/submit")
    response = second.post("/submit", data=report_form(second, csrf_token=token),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert envelopes(app) == []


def test_csrf_tokens_last_long_enough_for_a_slow_upload(app: Flask) -> None:
    assert app.config["WTF_CSRF_TIME_LIMIT"] >= 3 * 3600


def test_xss_in_every_field_is_escaped_on_redisplay(client: FlaskClient) -> None:
    fields = {name: XSS for name in ("agency_other", "what", "when", "who", "name", "contact")}
    response = client.post("/submit", data=report_form(client, category="", **fields),
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_xss_in_the_dialogue_is_escaped(app: Flask, client: FlaskClient) -> None:
    receipt = submit(client, agency="__other__", agency_other=XSS,
                     files=[(io.BytesIO(b"x"), XSS + ".pdf")])
    with app.app_context():
        deliver(app, {
            "type": "message", "author": "reviewer", "text": XSS,
            "sent_at": "2099-01-01T00:00:00+00:00"})
    sign_in(client, receipt)
    client.post("/dialogue/message", data={"csrf_token": csrf_token(client, "/dialogue"),
                                           "text": XSS}, content_type="multipart/form-data")
    page = client.get("/dialogue").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;") >= 3


def test_a_zero_byte_file_is_refused_and_nothing_is_kept(app: Flask, client: FlaskClient,
                                                         intake_config: object) -> None:
    response = client.post("/submit", data=report_form(
        client, files=[(io.BytesIO(b""), "empty.pdf")]), content_type="multipart/form-data")
    assert response.status_code == 400
    assert envelopes(app) == []
    assert _stored_files(app) == []


def test_an_over_limit_file_is_refused_and_nothing_is_kept(app: Flask,
                                                           client: FlaskClient) -> None:
    big = io.BytesIO(b"x" * (2 * 1024 * 1024 + 1))
    response = client.post("/submit", data=report_form(client, files=[(big, "big.bin")]),
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "<h1>" in response.get_data(as_text=True)
    assert envelopes(app) == []
    assert _stored_files(app) == []


def test_too_many_files_are_refused(app: Flask, client: FlaskClient) -> None:
    files = [(io.BytesIO(b"x"), f"f{i}.txt") for i in range(12)]
    response = client.post("/submit", data=report_form(client, files=files),
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert envelopes(app) == []


def test_a_request_over_the_total_limit_is_refused(make_app: Callable[..., Flask]) -> None:
    app = make_app(max_request_bytes=3 * 1024 * 1024)
    client = app.test_client()
    files = [(io.BytesIO(b"x" * 1024 * 1024), f"f{i}.bin") for i in range(4)]
    response = client.post("/submit", data=report_form(client, files=files),
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert envelopes(app) == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\boot.ini", "/abs/path.txt",
                                  "a\x00b.txt", "\u202egnp.exe", ".hidden"])
def test_path_tricks_in_file_names_stay_inside_the_envelope(
    app: Flask, client: FlaskClient, people: People, tmp_path: Path, name: str
) -> None:
    submit(client, category="ethics", files=[(io.BytesIO(b"content"), name)])
    (report,) = envelopes(app, kind="report")
    listed = json.loads(open_envelope(app, report, people.escrow))["attachments"]
    shown = listed[0]["filename"]
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown
    assert not shown.startswith(".")
    assert not (tmp_path.parent / "etc").exists()
    for stored in _stored_files(app):
        assert stored.parent == intake_of(app).store.root


def test_malformed_multipart_is_a_4xx_not_a_500(client: FlaskClient) -> None:
    token = csrf_token(client, "/submit")
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            + token.encode() + b"\r\n--XX\r\nContent-Disposition: form-data; name=\"files\"; "
            b"filename=\"a.txt\"\r\n\r\nunterminated")
    response = client.post("/submit", data=body,
                           content_type="multipart/form-data; boundary=XX")
    assert 400 <= response.status_code < 500


def test_a_flood_of_receipt_attempts_gets_busy_pages_not_errors(
    make_app: Callable[..., Flask], argon2_params: crypto.Argon2Params
) -> None:
    app = make_app(argon2_concurrency=1, argon2_wait_seconds=0.0,
                   argon2=crypto.Argon2Params(time_cost=1, memory_kib=32 * 1024))
    receipt = submit(app.test_client())
    gate = app.extensions["lykta.intake"].gate

    def flood(count: int) -> list[int]:
        statuses: list[int] = []
        lock = threading.Lock()

        def attempt() -> None:
            client = app.test_client()
            token = csrf_token(client, "/login")
            response = client.post("/login", data={"csrf_token": token,
                                                   "receipt": crypto.generate_receipt()})
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=attempt) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses

    # While every Argon2 slot is taken, each attempt is told "busy" (and nothing breaks).
    with gate.slot():
        assert flood(8) == [503] * 8
    # With the slot free, a flood gets only "unknown" or "busy" answers, never an error.
    statuses = flood(12)
    assert len(statuses) == 12 and set(statuses) <= {401, 503} and 401 in statuses
    client = app.test_client()
    sign_in(client, receipt)  # and the service still works afterwards
    assert client.get("/dialogue").status_code == 200


def _stored_files(app: Flask) -> list[Path]:
    store = intake_of(app).store
    return [p for p in store.root.rglob("*") if p.is_file()]
