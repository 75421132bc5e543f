"""What casework keeps and logs: content only sealed, no content or secrets in logs."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from tests.intake.conftest import submit

from .conftest import csrf, log_in
from .linked import Linked
from .test_cases import _case_id

MARKER = "QWXZ-casework-marker-5521"


def test_content_is_sealed_at_rest_in_casework(linked: Linked, tmp_path: Path) -> None:
    submit(linked.intake.test_client(), category="ethics", what=f"{MARKER}-what",
           files=[(io.BytesIO(f"{MARKER}-file".encode() * 100), "f.txt")])
    linked.sync()
    eva = linked.casework.test_client()
    log_in(linked.casework, eva, linked.staff["eva"])
    case_id = _case_id(linked)
    for kind, field in (("reply", "reply-text"), ("notes", "note-text")):
        eva.post(f"/cases/{case_id}/{kind}", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                                    field: f"{MARKER}-{kind}"})
    linked.casework.extensions["lykta.casework"].db.engine.dispose()
    scanned = 0
    for path in tmp_path.rglob("*"):
        if path.is_file() and "intake" not in path.parts:
            scanned += 1
            assert MARKER.encode() not in path.read_bytes(), path
    assert scanned >= 4


def test_a_full_session_logs_no_content_password_or_code(
    linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    submit(linked.intake.test_client(), category="ethics", what=f"{MARKER}-what")
    linked.sync()
    eva = linked.casework.test_client()
    staff = linked.staff["eva"]
    code = staff.code(linked.casework)
    eva.post("/login", data={"csrf_token": csrf(eva, "/login"), "username": staff.username,
                             "password": staff.password, "code": code})
    case_id = _case_id(linked)
    eva.get(f"/cases/{case_id}")
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": f"{MARKER}-reply"})
    eva.get("/admin/users")  # refused: logged as a refusal, with roles only
    bad = linked.casework.test_client()
    bad.post("/login", data={"csrf_token": csrf(bad, "/login"), "username": staff.username,
                             "password": "wrong password", "code": "123456"})
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for needle in (MARKER, staff.password, "wrong password", code, staff.totp_secret):
        assert needle not in logged
    assert "refused admin.users" in caplog.text


@pytest.mark.parametrize("path", ["/login", "/logout", "/admin/users",
                                  f"/cases/{'0' * 32}/reply", f"/cases/{'0' * 32}/notes"])
def test_posts_without_a_csrf_token_are_refused(linked: Linked, path: str) -> None:
    client = linked.casework.test_client()
    log_in(linked.casework, client, linked.staff["eva"])
    response = client.post(path, data={"text": "x", "username": "x"})
    assert response.status_code == 400


def test_casework_pages_carry_the_security_headers(linked: Linked) -> None:
    client = linked.casework.test_client()
    for path in ("/login", "/", "/cases/", "/nope"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert "no-store" in headers["Cache-Control"]
        assert "Server" not in headers


def test_downloads_are_attachments_in_a_sandbox(linked: Linked) -> None:
    import re

    submit(linked.intake.test_client(), category="ethics",
           files=[(io.BytesIO(b"<html><script>alert(1)</script></html>"), "evil.html")])
    linked.sync()
    eva = linked.casework.test_client()
    log_in(linked.casework, eva, linked.staff["eva"])
    page = eva.get(f"/cases/{_case_id(linked)}").get_data(as_text=True)
    link = re.search(r'href="(/cases/[0-9a-f]+/files/[0-9a-f]+)"', page)
    assert link
    response = eva.get(link.group(1))
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.mimetype == "application/octet-stream"


def test_the_session_cookie_is_httponly_and_strict(linked: Linked) -> None:
    client = linked.casework.test_client()
    log_in(linked.casework, client, linked.staff["eva"])
    cookie = client.get_cookie("lykta_casework")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"


def test_a_typed_other_agency_is_never_stored_or_listed_in_plaintext(
        linked: Linked, tmp_path: Path) -> None:
    from sqlalchemy import select

    from casework.models import Case

    typed = "Nämnden för hemliga saker"
    submit(linked.intake.test_client(), category="ethics", agency="__other__",
           agency_other=typed)
    linked.sync()
    eva = linked.casework.test_client()
    log_in(linked.casework, eva, linked.staff["eva"])
    case_id = _case_id(linked)
    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"Another agency: {typed}" in page  # the case's readers read it, from the seal
    inbox = eva.get("/cases/").get_data(as_text=True)
    assert "Another agency" in inbox and "hemliga" not in inbox
    services = linked.casework.extensions["lykta.casework"]
    with services.db.session() as db:
        assert db.scalars(select(Case.agency)).one() == "other"
    services.db.engine.dispose()
    for path in tmp_path.rglob("*"):
        if path.is_file() and "intake" not in path.parts:
            assert b"hemliga" not in path.read_bytes(), path


def test_a_listed_agency_is_stored_as_its_code(linked: Linked) -> None:
    from sqlalchemy import select

    from casework.models import Case

    submit(linked.intake.test_client(), category="ethics", agency="Skatteverket")
    linked.sync()
    eva = linked.casework.test_client()
    log_in(linked.casework, eva, linked.staff["eva"])
    eva.get(f"/cases/{_case_id(linked)}")
    with linked.casework.extensions["lykta.casework"].db.session() as db:
        assert db.scalars(select(Case.agency)).one() == "skatteverket"
    assert "Swedish Tax Agency" in eva.get("/cases/").get_data(as_text=True)
