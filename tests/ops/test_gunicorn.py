"""The gunicorn settings (ops/gunicorn/): the three app factories, bind and workers from
LYKTA_GUNICORN_BIND / LYKTA_GUNICORN_WORKERS, no access log, bounded request heads, no
proxy header believed; and gunicorn itself accepts each file."""

from __future__ import annotations

import importlib
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

OPS = Path(__file__).resolve().parent.parent.parent / "ops"
GUNICORN = Path(sys.executable).parent / "gunicorn"
APPS = {  # file: (app factory, default socket)
    "intake": ("intake:create_app()", "unix:/run/lykta-intake/intake.sock"),
    "sync": ("intake.bridge.sync:create_app()", "unix:/run/lykta-sync/sync.sock"),
    "casework": ("casework:create_app()", "unix:/run/lykta-casework/casework.sock"),
}


def settings(name: str, **environ: str) -> dict[str, Any]:
    """The file's settings as gunicorn reads them, under ``environ``'s variables."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("LYKTA_GUNICORN_")}
    os.environ.update(environ)
    try:
        return runpy.run_path(str(OPS / "gunicorn" / f"{name}.conf.py"))
    finally:
        for key in environ:
            del os.environ[key]
        os.environ.update(saved)


@pytest.mark.parametrize("name", APPS)
def test_defaults_serve_the_app_on_its_socket_without_an_access_log(name: str) -> None:
    conf = settings(name)
    factory, socket = APPS[name]
    assert conf["wsgi_app"] == factory
    module, _, call = factory.partition(":")
    assert callable(getattr(importlib.import_module(module), call.removesuffix("()")))
    assert conf["bind"] == [socket]
    assert conf["workers"] >= 1
    assert conf["accesslog"] is None
    assert conf["forwarded_allow_ips"] == "" and conf["secure_scheme_headers"] == {}
    assert conf["umask"] == 0o007  # the socket: owner and group (nginx) only
    assert conf["limit_request_line"] <= 8190 and conf["limit_request_fields"] <= 50
    assert 60 <= conf["timeout"] <= 3600 and conf["graceful_timeout"] <= 30


def test_intake_allows_an_hour_for_an_upload_over_tor() -> None:
    assert settings("intake")["timeout"] >= 3600


@pytest.mark.parametrize("name", APPS)
def test_bind_and_workers_come_from_the_environment(name: str) -> None:
    conf = settings(name, LYKTA_GUNICORN_BIND="127.0.0.1:8091 unix:/tmp/x.sock",
                    LYKTA_GUNICORN_WORKERS="3")
    assert conf["bind"] == ["127.0.0.1:8091", "unix:/tmp/x.sock"]
    assert conf["workers"] == 3
    for wrong in ("0", "-1", "two", "1e3", "257"):
        with pytest.raises(ValueError, match="LYKTA_GUNICORN_WORKERS"):
            settings(name, LYKTA_GUNICORN_WORKERS=wrong)


def test_gunicorn_accepts_every_file(tmp_path: Path) -> None:
    # gunicorn --print-config resolves and validates each setting, then loads the app:
    # a stand-in app here, so that the check needs no instance (the rehearsal runs the
    # real ones).
    (tmp_path / "standin.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n    return [b'']\n")
    for name in APPS:
        env = {**os.environ, "LYKTA_GUNICORN_BIND": "127.0.0.1:8099",
               "LYKTA_GUNICORN_WORKERS": "5"}
        checked = subprocess.run(
            [str(GUNICORN), "-c", str(OPS / "gunicorn" / f"{name}.conf.py"),
             "--pythonpath", str(tmp_path), "--print-config", "standin:app"],
            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert checked.returncode == 0, checked.stderr
        printed = dict(re.findall(r"^(\w+)\s+= (.*)$", checked.stdout, re.MULTILINE))
        assert printed["bind"] == "['127.0.0.1:8099']"
        assert printed["workers"] == "5"
        assert printed["accesslog"] == "None"
        assert printed["worker_class"] == "gthread"


def test_gunicorn_refuses_a_wrong_worker_count(tmp_path: Path) -> None:
    env = {**os.environ, "LYKTA_GUNICORN_WORKERS": "lots"}
    checked = subprocess.run([str(GUNICORN), "-c", str(OPS / "gunicorn" / "intake.conf.py"),
                              "--check-config"], capture_output=True, text=True, timeout=60,
                             env=env, cwd=tmp_path)
    assert checked.returncode != 0
    assert "LYKTA_GUNICORN_WORKERS" in checked.stderr
