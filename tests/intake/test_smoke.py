from __future__ import annotations

from flask.testing import FlaskClient

from .conftest import sign_in, submit


def test_whole_journey(client: FlaskClient) -> None:
    for path in ("/", "/anonymity", "/submit", "/login"):
        assert client.get(path).status_code == 200, path
    receipt = submit(client)
    sign_in(client, receipt)
    page = client.get("/dialogue")
    assert page.status_code == 200
