"""The language switch with raw, non-UTF-8 bytes in the query string: never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from common.i18n import LANG_COOKIE, init_babel, switch_language

RAW = ["next=/\xff\xfe", "next=\xc3\x28", "\xff=1", "next=/a\xffb&next=/ok"]


@pytest.mark.parametrize("query", RAW)
def test_raw_non_utf8_bytes_in_the_query_string_are_a_4xx_not_a_500(
        client: FlaskClient, query: str) -> None:
    response = client.get("/language/en", environ_overrides={"QUERY_STRING": query})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/"


@pytest.mark.parametrize("query", RAW)
def test_the_switch_itself_ignores_an_undecodable_next(query: str) -> None:
    # Without any request guard in front (defence in depth): a bare app.
    app = Flask(__name__)
    app.config.update(BABEL_DEFAULT_LOCALE="sv", SESSION_COOKIE_SECURE=False)
    init_babel(app)
    with app.test_request_context("/language/en", environ_overrides={"QUERY_STRING": query}):
        response = switch_language("en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert f"{LANG_COOKIE}=en" in response.headers["Set-Cookie"]


def test_percent_encoded_bad_bytes_still_go_somewhere_local(client: FlaskClient) -> None:
    response = client.get("/language/en", query_string="next=/%ff%fe")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/")
    assert not response.headers["Location"].startswith("//")


def test_a_good_next_still_goes_back(client: FlaskClient) -> None:
    response = client.get("/language/en", query_string={"next": "/anonymity"})
    assert response.status_code == 302 and response.headers["Location"] == "/anonymity"
