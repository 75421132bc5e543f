"""Structured logs (common/logs.py): JSON lines that never identify anyone.

The journey below is the privacy tests' (tests/intake/test_privacy.py,
tests/casework/test_privacy.py) with the JSON format on and everything at DEBUG: every
line must parse, and none may hold an address, a user agent, a receipt, a password, a
TOTP code or secret, a key or a word of the report or the reply.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import pytest

from casework import CaseworkConfig
from casework import create_app as create_casework
from common import logs
from common.settings import ConfigError
from tests.casework.conftest import (  # noqa: F401 (fixtures)
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401 (fixture)
from tests.casework.test_cases import _case_id
from tests.intake.conftest import csrf_token, sign_in, submit
from tests.support.casework import csrf

MARKER = "JSONLOG-marker-7731"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, as the JSON handler writes it (DEBUG and up)."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.configure(stream=stream, level=logging.DEBUG)
    try:
        yield stream
    finally:
        logs.unconfigure()
        root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, object]]:
    lines = stream.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def test_a_line_holds_the_fields_and_only_allow_listed_extras(json_lines: io.StringIO) -> None:
    log = logging.getLogger("lykta.test")
    log.warning("queued %s jobs", 3, extra={"queue": "lykta-mail", "report_text": MARKER,
                                            "count": 3, "status": {"nested": MARKER}})
    try:
        raise RuntimeError(f"secret {MARKER}")
    except RuntimeError:
        log.exception("the job failed")
    first, second = parsed(json_lines)
    assert set(first) == {"time", "level", "logger", "message", "queue", "count"}
    assert (first["level"], first["logger"], first["message"]) == (
        "WARNING", "lykta.test", "queued 3 jobs")
    assert (first["queue"], first["count"]) == ("lykta-mail", 3)
    assert str(first["time"]).endswith("Z")
    assert second["exception"] == "RuntimeError"
    assert MARKER not in json_lines.getvalue()
    assert "Traceback" not in json_lines.getvalue()


@pytest.mark.parametrize("leak", [
    "203.0.113.77", "2001:db8::7", "fe80:0:0:0:200:f8ff:fe21:67cf", "K7M3Q-9XD4H-PT2WN-BRF5Z",
    "k7m3q9xd4hpt2wnbrf5z", "Bearer abc.def-ghi", "lykta_" + "A" * 43])
def test_what_looks_like_an_address_receipt_or_token_is_redacted(
    json_lines: io.StringIO, leak: str
) -> None:
    # Defence in depth: the code never logs these; should a library or a later change
    # do so, the line still goes out, without them.
    logging.getLogger("werkzeug").warning("request from %s failed", leak)
    logging.getLogger("lykta.test").info(f"took {leak}", extra={"endpoint": leak})
    assert leak.split()[-1] not in json_lines.getvalue()
    assert len(parsed(json_lines)) == 2


def test_ordinary_text_is_left_alone(json_lines: io.StringIO) -> None:
    message = ("cycle at 10:21:53 pulled 12 envelopes for case LY-2025-0042 "
               "(0f1e2d3c4b5a69788796a5b4c3d2e1f0) in 1.5 s")
    logging.getLogger("lykta.test").info(message)
    assert parsed(json_lines)[0]["message"] == message


def test_the_format_comes_from_the_environment(casework_config: CaseworkConfig,  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert logs.log_format({}) == "text"
    with pytest.raises(ConfigError, match="LYKTA_LOG_FORMAT must be one of: text, json"):
        logs.log_format({"LYKTA_LOG_FORMAT": "xml"})
    monkeypatch.setenv("LYKTA_LOG_FORMAT", "json")
    try:
        create_casework(casework_config)
        assert any(h.get_name() == "lykta-json" for h in logging.getLogger().handlers)
    finally:
        logs.unconfigure()


def test_gunicorns_configuration_uses_the_formatter_and_no_access_log() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = logs.dict_config()
    logging.config.dictConfig(config)  # it loads
    try:
        assert config["loggers"]["gunicorn.access"]["handlers"] == []
        handler = logging.getLogger("gunicorn.error").handlers[0]
        assert isinstance(handler.formatter, logs.JsonFormatter)
        assert any(isinstance(f, logs.Redact) for f in handler.filters)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("gunicorn.error").handlers.clear()


def test_a_whole_journey_logs_json_without_identifying_anything(
    linked: Linked, json_lines: io.StringIO, tmp_path: Path  # noqa: F811
) -> None:
    ip, agent = "198.51.100.23", f"Mozilla/5.0 ({MARKER}-agent)"
    tipster = linked.intake.test_client()
    tipster.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent,
                                 "HTTP_X_FORWARDED_FOR": ip})
    receipt = submit(tipster, category="ethics", what=f"{MARKER}-what")
    sign_in(tipster, receipt)
    tipster.post("/login", data={"csrf_token": csrf_token(tipster, "/login"),
                                 "receipt": "WRONG-RECEIPT"})
    linked.sync()  # casework imports the report

    staff = linked.staff["eva"]
    eva = linked.casework.test_client()
    eva.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent})
    code = staff.code(linked.casework)
    eva.post("/login", data={"csrf_token": csrf(eva, "/login"), "username": staff.username,
                             "password": staff.password, "code": code})
    case_id = _case_id(linked)
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": f"{MARKER}-reply"})
    eva.get("/admin/users")  # refused: a warning line
    stranger = linked.casework.test_client()
    stranger.post("/login", data={"csrf_token": csrf(stranger, "/login"),
                                  "username": staff.username,
                                  "password": f"{MARKER}-wrong", "code": "123456"})
    linked.sync()  # the reply reaches intake
    assert MARKER.encode() in tipster.get("/dialogue").data  # the tipster reads the reply
    assert linked.casework.test_client().get("/readyz").status_code == 200

    lines = parsed(json_lines)  # every line is JSON
    assert lines, "the journey logged nothing: the test would prove nothing"
    assert any(line["message"] == "refused admin.users for roles reviewer" for line in lines)
    written = json_lines.getvalue()
    intake_config = linked.intake.extensions["lykta.intake"].config
    staff_config = services(linked.casework).config
    needles = [ip, agent, MARKER, receipt, receipt.replace("-", ""), staff.password, code,
               staff.totp_secret, base64.b64encode(intake_config.secret_key).decode(),
               base64.b64encode(staff_config.secret_key).decode(),
               linked.escrow.raw_bytes().hex(), linked.signing.seed().hex()]
    for needle in needles:
        assert needle not in written, needle
