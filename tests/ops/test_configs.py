"""The deployment configs keep the settings that intake's security depends on (each kind
in more detail: test_gunicorn, test_nginx, test_tor, test_systemd, test_nftables)."""

from __future__ import annotations

import runpy
from pathlib import Path

OPS = Path(__file__).resolve().parent.parent.parent / "ops"


def test_nginx_streams_uploads_logs_nothing_and_names_no_software() -> None:
    conf = (OPS / "nginx" / "intake.conf").read_text()
    for setting in ("proxy_request_buffering off;", "access_log off;", "server_tokens off;",
                    "more_clear_headers Server;", "listen 127.0.0.1:8080;"):
        assert setting in conf


def test_gunicorn_keeps_no_access_log_and_allows_slow_uploads() -> None:
    settings = runpy.run_path(str(OPS / "gunicorn" / "intake.conf.py"))
    assert settings["accesslog"] is None
    assert settings["timeout"] >= 3600
    assert settings["wsgi_app"] == "intake:create_app()"


def test_onion_service_points_at_loopback_only() -> None:
    torrc = (OPS / "tor" / "torrc").read_text()
    assert "HiddenServiceVersion 3" in torrc
    assert "HiddenServicePort 80 127.0.0.1:8080" in torrc


def test_service_runs_sandboxed_without_core_dumps() -> None:
    unit = (OPS / "systemd" / "lykta-intake.service").read_text()
    for setting in ("NoNewPrivileges=true", "LimitCORE=0", "PrivateTmp=true", "UMask=0077"):
        assert setting in unit

