"""HTTP hardening on every page: CSP, no referrer, no framing, no caching, no Server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import RECEIPT, report_form, sign_in

PAGES = ["/", "/anonymity", "/submit", "/login", "/dialogue", "/no-such-page",
         "/language/en?next=/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code < 500
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in headers["Cache-Control"]
    assert "Server" not in headers
    assert "Onion-Location" not in headers


def test_pages_with_report_data_are_not_cached(client: FlaskClient) -> None:
    response = client.post("/submit", data=report_form(client),
                           content_type="multipart/form-data")
    assert 'id="receipt-code"' in response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]
    sign_in(client, RECEIPT.search(response.get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    assert "no-store" in client.get("/dialogue").headers["Cache-Control"]


def test_pages_load_nothing_from_another_origin(client: FlaskClient) -> None:
    for path in ("/", "/submit", "/login", "/anonymity"):
        page = client.get(path).get_data(as_text=True)
        assert "<script" not in page
        assert "http://" not in page and "https://" not in page
        assert 'style="' not in page


def test_onion_location_is_sent_when_configured(make_app: Callable[..., Flask]) -> None:
    onion = "lyktaexampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
    client = make_app(onion_address=onion).test_client()
    response = client.get("/anonymity")
    assert response.headers["Onion-Location"] == f"http://{onion}/anonymity"


def test_session_cookie_is_httponly_strict_and_secure_over_https(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(https=True).test_client()
    response = client.get("/submit")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie


def test_language_switch_refuses_open_redirects(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)",
                   "/\\evil.example/x", "/\tevil"):
        response = client.get("/language/en", query_string={"next": target})
        assert response.headers["Location"] == "/"
