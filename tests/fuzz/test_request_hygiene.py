"""Regression tests for the generic causes of 5xx answers found by fuzzing (one per attack).

Each sends the attack to every route it applies to (from the url_map, so new routes are
covered) and fails on the code before common/request_guard.py.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder, run_wsgi_app

from common.request_guard import FieldShape, session_is_well_formed
from intake import IntakeConfig
from tests.casework.conftest import (  # noqa: F401 (fixtures)
    casework,
    casework_config,
    make_casework,
)
from tests.intake.conftest import (  # noqa: F401 (fixtures)
    app,
    intake_config,
    make_app,
    people,
)

from .harness import new_csrf_raw

NO_NAME = (b"--xx\r\nContent-Disposition: form-data\r\n\r\nno name\r\n"
           b'--xx\r\nContent-Disposition: form-data; filename="a.txt"\r\n\r\nfile\r\n--xx--\r\n')
LONG_LABEL_HOST = "a" * 64 + ".example"


@pytest.fixture(params=["intake", "casework"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    found: Flask = request.getfixturevalue("app" if request.param == "intake" else "casework")
    return found


def paths(flask_app: Flask, method: str) -> Iterator[tuple[Rule, str]]:
    """Every route taking ``method``, with its arguments filled in."""
    for rule in flask_app.url_map.iter_rules():
        if method in (rule.methods or set()):
            yield rule, re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "x", rule.rule)


def session_cookie(flask_app: Flask, data: dict[str, object]) -> str:
    """A session cookie with arbitrary contents, signed with the app's real secret key."""
    serializer = flask_app.session_interface.get_signing_serializer(  # type: ignore[attr-defined]
        flask_app)
    value: str = serializer.dumps(data)
    return f"{flask_app.config['SESSION_COOKIE_NAME']}={value}"


def csrf_token_for(flask_app: Flask, raw: str) -> str:
    """The form token Flask-WTF accepts for the secret ``raw`` kept in the session."""
    from itsdangerous import URLSafeTimedSerializer

    secret = flask_app.secret_key
    assert secret is not None
    token: str = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)
    return token


def csrf_pair(flask_app: Flask) -> tuple[str, str]:
    """A session cookie holding a CSRF secret, and the valid token for it."""
    raw = new_csrf_raw()
    return session_cookie(flask_app, {"csrf_token": raw}), csrf_token_for(flask_app, raw)


def call(flask_app: Flask, path: str, *, method: str = "GET", query: str = "",
         headers: list[tuple[str, str]] | None = None, data: bytes | dict[str, object] = b"",
         content_type: str | None = None, environ: dict[str, str] | None = None,
         ) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Straight to the WSGI app: the test client itself chokes on some of these requests."""
    builder = EnvironBuilder(path=path, method=method, headers=headers or [], data=data,
                             content_type=content_type)
    try:
        env = builder.get_environ()
    finally:
        builder.close()
    env["QUERY_STRING"] = query
    env.update(environ or {})
    app_iter, status, response_headers = run_wsgi_app(flask_app, env, buffered=True)
    return int(status.split()[0]), b"".join(app_iter), list(response_headers.items())


def test_multipart_part_without_name_is_400_on_every_post_route(any_app: Flask) -> None:
    cookie, token = csrf_pair(any_app)
    for _rule, path in paths(any_app, "POST"):
        for headers in ([], [("Cookie", cookie), ("X-CSRFToken", token)]):
            status, _, _ = call(any_app, path, method="POST", data=NO_NAME, headers=headers,
                                content_type="multipart/form-data; boundary=xx")
            assert status == 400, path


def test_file_part_in_a_text_field_is_400(any_app: Flask) -> None:
    cookie, token = csrf_pair(any_app)
    for _rule, path in paths(any_app, "POST"):
        status, _, _ = call(any_app, path, method="POST", headers=[("Cookie", cookie)],
                            data={"csrf_token": token, "username": (io.BytesIO(b"x"), "a.txt"),
                                  "what": (io.BytesIO(b"x"), "a.txt"), "password": "x"})
        assert status == 400, path


def test_text_in_the_file_field_is_400(app: Flask) -> None:  # noqa: F811 (the fixture)
    cookie, token = csrf_pair(app)
    status, _, _ = call(app, "/submit", method="POST", headers=[("Cookie", cookie)],
                        data={"csrf_token": token, "files": "not a file", "what": "x"},
                        content_type="multipart/form-data")
    assert status == 400


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null", b'{"username": 5}',
                                  b'{"code": 1.5, "password": [1]}', b"[" * 5000 + b"]" * 5000,
                                  b'{"category": {"a": 1}}'])
def test_json_body_with_csrf_header_is_415_on_every_post_route(any_app: Flask,
                                                               body: bytes) -> None:
    cookie, token = csrf_pair(any_app)
    for _rule, path in paths(any_app, "POST"):
        status, _, _ = call(any_app, path, method="POST", data=body,
                            content_type="application/json",
                            headers=[("Cookie", cookie), ("X-CSRFToken", token)])
        assert status == 415, path


def refusal_page(path: str, body: bytes) -> bool:
    """The app's own error: its page (links and all), or for the statistics API (a
    machine's client) its JSON error body."""
    if path.lstrip("/").startswith("api/"):  # "//api/..." is no API path: a page then
        return body.startswith(b'{"error":') or b"<h1>" in body
    return b"<h1>" in body


def test_host_label_over_63_characters_gets_a_400_page_on_every_url(any_app: Flask) -> None:
    for _rule, path in [*paths(any_app, "GET"), (None, "/no-such-page")]:
        status, body, _ = call(any_app, path, environ={"HTTP_HOST": LONG_LABEL_HOST})
        assert status == 400, path
        assert refusal_page(path, body), path


@pytest.mark.parametrize("query", ["next=/\xff\xfe", "\xff", "a=%ff&next=/\xc3"])
def test_non_utf8_query_string_is_400_on_every_get_route(any_app: Flask, query: str) -> None:
    for _rule, path in [*paths(any_app, "GET"), (None, "/no-such-page")]:
        status, body, _ = call(any_app, path, query=query)
        assert status == 400, path
        assert refusal_page(path, body), path


@pytest.mark.parametrize("query", ["a\rb", "next=/\n", "x=\x00", "\x7f"])
def test_control_characters_in_the_query_string_are_400_not_a_broken_redirect(
        any_app: Flask, query: str) -> None:
    # "//path" and a missing trailing slash make Werkzeug redirect, copying the query
    # string raw into the Location header: a line break there was a 500.
    for _rule, path in [*paths(any_app, "GET"), (None, "/no-such-page")]:
        for variant in (path, "/" + path, path.rstrip("/") or "/"):
            status, body, _ = call(any_app, variant, query=query)
            assert status == 400, (variant, query)
            assert refusal_page(variant, body), variant


FORGED = [{"_flashes": 5}, {"_flashes": [1]}, {"_flashes": [["message"]]},
          {"enrol": {"user": "u", "since": "yesterday"}}, {"enrol": {"since": 1}},
          {"csrf_token": "\u202e\u200b"}, {"csrf_token": 5}, {"staff": ["x"]},
          {"tipster": {"id": 1, "secret": None, "seen": "x"}}, {"unknown": 1}]


@pytest.mark.parametrize("data", FORGED)
def test_forged_session_contents_are_forgotten_on_every_get_route(any_app: Flask,
                                                                  data: dict[str, object]) -> None:
    cookie = session_cookie(any_app, data)
    for _rule, path in paths(any_app, "GET"):
        status, body, _ = call(any_app, path, headers=[("Cookie", cookie)])
        assert status < 500, path
        assert b"Traceback" not in body


def test_forged_csrf_secret_does_not_break_a_post(any_app: Flask) -> None:
    # Flask-WTF compares the secret with hmac.compare_digest, which raises on non-ASCII.
    forged = "\u202e\u200b\ufeff"
    cookie = session_cookie(any_app, {"csrf_token": forged})
    token = csrf_token_for(any_app, forged)
    for _rule, path in paths(any_app, "POST"):
        status, _, _ = call(any_app, path, method="POST", headers=[("Cookie", cookie)],
                            data={"csrf_token": token},
                            content_type="application/x-www-form-urlencoded")
        assert status == 400, path


def test_session_shape_check() -> None:
    shape: dict[str, FieldShape] = {"staff": {"id": str, "secret": str},
                                    "enrol": {"user": str, "since": int}}
    assert session_is_well_formed({"staff": {"id": "a", "secret": "b"},
                                   "csrf_token": "0" * 40, "_flashes": [("m", "x")]}, shape)
    assert not session_is_well_formed({"enrol": {"user": "a", "since": True}}, shape)
    assert not session_is_well_formed({"staff": {"id": "a", "secret": "b", "x": 1}}, shape)
    assert not session_is_well_formed({"other": 1}, shape)


def test_non_ascii_digits_in_the_enrolment_code_are_refused_by_the_form(casework: Flask) -> None:  # noqa: F811
    from casework.accounts import create_user
    from casework.enrolment import begin_enrolment
    from casework.models import Role
    from tests.casework.conftest import services

    config = services(casework).config
    with services(casework).db.session() as db:
        user, _ = create_user(db, config, username="petra", display_name="Petra",
                              unit_id="etik", role=Role.REVIEWER)
        enrolment_id = begin_enrolment(db, config, user.id)
    raw = new_csrf_raw()
    cookie = session_cookie(casework, {"enrol": {"id": enrolment_id}, "csrf_token": raw})
    status, body, _ = call(casework, "/enrol", method="POST", headers=[("Cookie", cookie)],
                           data={"csrf_token": csrf_token_for(casework, raw),
                                 "code": "\u0661\u0662\u0663\u0664\u0665\u0666",
                                 "new_password": "a long enough password",
                                 "confirm": "a long enough password"},
                           content_type="application/x-www-form-urlencoded")
    assert status == 400
    assert b"<h1>" in body


def test_an_error_page_that_cannot_render_keeps_its_status(
        casework: Flask, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    import casework.errors as errors_module

    def broken(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("a template bug")

    monkeypatch.setattr(errors_module, "render_template", broken)
    status, body, _ = call(casework, "/no-such-page")
    assert status == 404
    assert b"<h1>Sidan finns inte</h1>" in body  # Swedish by default, still translated
    assert "the error page failed: RuntimeError" in caplog.text


def test_sync_app_slash_redirect_with_control_characters_in_the_query_is_not_a_500(
        intake_config: IntakeConfig) -> None:  # noqa: F811
    import secrets
    from dataclasses import replace

    from intake.bridge.sync import create_app as create_sync_app

    sync = create_sync_app(replace(intake_config, sync_signing_seed=secrets.token_bytes(32)))
    for method, path in (("POST", "/v1//pull"), ("GET", "/static//x")):
        status, _, _ = call(sync, path, method=method, query="a\rb")
        assert status < 500, (method, path)
