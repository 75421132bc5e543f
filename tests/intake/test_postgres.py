"""The intake journey on PostgreSQL, the production database."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import Flask

from .conftest import csrf_token, sign_in, submit
from .test_reporting import envelopes


def test_report_sign_in_and_follow_up_on_postgresql(make_app: Callable[..., Flask],
                                                    postgres_url: str) -> None:
    app = make_app(database_url=postgres_url)
    client = app.test_client()
    receipt = submit(client, files=[(io.BytesIO(b"evidence"), "e.txt")])
    sign_in(client, receipt)
    response = client.post("/dialogue/message",
                           data={"csrf_token": csrf_token(client, "/dialogue"), "text": "More."},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert "More." in client.get("/dialogue").get_data(as_text=True)
    assert {e.kind for e in envelopes(app)} == {"report", "file", "own-report", "message",
                                                "own-message"}
