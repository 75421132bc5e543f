"""What a seized intake server or its logs reveal: no content, no receipt, no IP."""

from __future__ import annotations

import http.client
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, Request
from flask.testing import FlaskClient

from common.serve import build_server

from .conftest import csrf_token, sign_in, submit

MARKER = "ZQXJ-unique-marker-8313"
FIELDS = ("agency_other", "what", "when", "who", "name", "contact")


def _every_byte_under(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def _open_temporary_files(roots: list[Path]) -> Iterator[tuple[str, bytes]]:
    """Contents of every file this process holds open under ``roots``, deleted or not.

    Werkzeug's spool is an unlinked temporary file (O_TMPFILE): it never shows in a
    directory listing, but it is still reachable through /proc/self/fd.
    """
    prefixes = [str(root) for root in roots]
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if not any(target.startswith(prefix) for prefix in prefixes):
            continue
        try:
            with open(f"/proc/self/fd/{fd}", "rb") as file:
                yield target, file.read()
        except OSError:
            continue


def test_no_field_or_file_content_reaches_the_database_or_storage(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    fields = {name: f"{MARKER}-{name}" for name in FIELDS}
    receipt = submit(client, agency="__other__", identity="confidential",
                     files=[(io.BytesIO(f"file {MARKER}".encode() * 1000), f"{MARKER}.pdf")],
                     **fields)
    sign_in(client, receipt)
    client.post("/dialogue/message", data={"csrf_token": csrf_token(client, "/dialogue"),
                                           "text": f"{MARKER}-followup",
                                           "files": [(io.BytesIO(MARKER.encode()), "f.txt")]},
                content_type="multipart/form-data")
    app.extensions["lykta.intake"].db.engine.dispose()  # flush WAL into the files we scan
    needles = [MARKER.encode(), MARKER.encode("utf-16-le"), receipt.encode(),
               receipt.replace("-", "").encode()]
    scanned = 0
    for path, data in _every_byte_under(tmp_path):
        scanned += 1
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {path.relative_to(tmp_path)}"
    assert scanned >= 5  # database, directory and several envelope bodies


def test_no_ip_user_agent_receipt_or_content_in_any_log(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ip, agent = "203.0.113.77", f"Mozilla/5.0 ({MARKER}-agent)"
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent})
    receipt = submit(client, what=f"{MARKER}-what", files=[(io.BytesIO(b"x"), "a.txt")])
    sign_in(client, receipt)
    client.get("/dialogue")
    client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "receipt": "bad"})
    client.get("/no-such-page")
    client.post("/submit", data={})  # CSRF failure
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for needle in (ip, MARKER, receipt, receipt.replace("-", ""), "Mozilla"):
        assert needle not in logged


def test_an_unexpected_error_logs_only_its_type(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(f"secret {MARKER}")

    caplog.set_level(logging.DEBUG)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert MARKER not in body and "Traceback" not in body
    assert MARKER not in caplog.text
    assert "RuntimeError" in caplog.text


class _Server:
    def __init__(self, app: Flask) -> None:
        self.server = build_server(app, "127.0.0.1", 0)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()


def _slow_upload_while_scanning(app: Flask, spool_dirs: list[Path]) -> list[str]:
    """Upload a 3 MiB file slowly through a real server; scan the folders meanwhile."""
    found: list[str] = []
    with _Server(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/submit")
        first = conn.getresponse()
        page = first.read().decode()
        cookie = first.getheader("Set-Cookie", "").split(";")[0]
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        boundary = "lyktaboundary"
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in {"csrf_token": token, "category": "ethics", "agency": "Kommun",
                         "what": "slow upload", "identity": "anonymous"}.items()
        ).encode() + (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                      f'filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
                      ).encode()
        piece = (MARKER.encode() + b"-") * 4000
        pieces = 3 * 1024 * 1024 // len(piece)
        tail = f"\r\n--{boundary}--\r\n".encode()
        conn.putrequest("POST", "/submit")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + pieces * len(piece) + len(tail)))
        conn.putheader("Cookie", cookie)
        conn.endheaders()
        conn.send(head)
        for index in range(pieces):
            conn.send(piece)
            if index % 8 == 0:
                time.sleep(0.02)
                for folder in spool_dirs:
                    for path, data in _every_byte_under(folder):
                        if MARKER.encode() in data:
                            found.append(str(path))
                for name, data in _open_temporary_files(spool_dirs):
                    if MARKER.encode() in data:
                        found.append(name)
        conn.send(tail)
        response = conn.getresponse()
        body = response.read().decode()
        assert response.status == 200, body[:500]
        assert 'id="receipt-code"' in body
    return found


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary folder for this test (where Python spools temporary files)."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_slow_large_upload_never_touches_the_disk_in_plaintext(
    make_app: Callable[..., Flask], tmp_path: Path, spool: Path
) -> None:
    app = make_app(max_file_bytes=8 * 1024 * 1024)
    found = _slow_upload_while_scanning(app, [spool, tmp_path])
    assert found == []


def test_the_scan_would_see_werkzeugs_default_plaintext_spooling(
    make_app: Callable[..., Flask], spool: Path
) -> None:
    # Control: with Werkzeug's default request class, the same upload is spooled to a
    # plaintext temporary file, and the scan above finds it. This keeps the test honest.
    app = make_app(max_file_bytes=8 * 1024 * 1024)
    app.request_class = Request
    found = _slow_upload_while_scanning(app, [spool])
    assert found, "the control upload left no plaintext: the scan is not looking"
