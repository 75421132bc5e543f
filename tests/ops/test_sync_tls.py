"""The sync link over real TLS on loopback: casework's bridge trusts the internal CA it
is configured with (intake_sync_ca_file), checks the host name, and shows its client
certificate (intake_sync_client_cert) to a server that asks for one, as nginx in front
of intake's sync app does (ops/nginx/sync.conf)."""

from __future__ import annotations

import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.serving import make_server

import crypto
from casework.bridge import BridgeError, client_for
from casework.config import CaseworkConfig
from intake import IntakeConfig
from intake.bridge.sync import create_app as create_sync_app
from tests.intake.conftest import intake_config, people  # noqa: F401 (fixtures)
from tests.ops.tools import Issued, certificate_authority, issue

CASEWORK_KEY = crypto.SigningKey.from_seed(b"c" * 32)
INTAKE_SEED = secrets.token_bytes(32)


@pytest.fixture
def sync_app(intake_config: IntakeConfig) -> Any:  # noqa: F811
    return create_sync_app(replace(intake_config, sync_signing_seed=INTAKE_SEED,
                                   casework_verify_key=CASEWORK_KEY.verify_key.raw))


@contextmanager
def serving(app: Any, server: Issued, client_ca: Issued | None = None) -> Iterator[str]:
    """The sync app over TLS on a free loopback port, with ``server``'s certificate; with
    ``client_ca``, a client certificate from that CA is required (ssl_verify_client)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server.certificate, server.key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca.certificate)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def casework_client(folder: Path, url: str, **tls: Path) -> Any:
    """The bridge client exactly as casework builds it from its settings (client_for)."""
    (folder / "casework-signing.seed").write_bytes(b"c" * 32)
    settings = {"secret_key": "a2V5" * 11, "intake_sync_url": url,
                "intake_verify_key": crypto.SigningKey.from_seed(INTAKE_SEED).verify_key.raw.hex(),
                **{name: str(path) for name, path in tls.items()}}
    config = CaseworkConfig.from_dict(settings, folder)
    return client_for(SimpleNamespace(config=config))  # type: ignore[arg-type]


def test_a_sync_certificate_from_the_configured_ca_is_trusted_and_an_unknown_one_not(
        tmp_path: Path, sync_app: Any) -> None:
    internal = certificate_authority(tmp_path / "internal", "internal-ca")
    stranger = certificate_authority(tmp_path / "stranger", "stranger-ca")
    ours = issue(internal, tmp_path / "internal", "sync", san="IP:127.0.0.1")
    theirs = issue(stranger, tmp_path / "stranger", "sync", san="IP:127.0.0.1")

    with serving(sync_app, ours) as url:
        client = casework_client(tmp_path, url, intake_sync_ca_file=internal.certificate)
        assert client.pull(10) == []  # a signed round trip over the verified link
        # Without the setting, only the system's CAs count: the internal CA is unknown.
        with pytest.raises(BridgeError, match="unreachable"):
            casework_client(tmp_path, url).pull(10)
    with serving(sync_app, theirs) as url, pytest.raises(BridgeError, match="unreachable"):
        casework_client(tmp_path, url, intake_sync_ca_file=internal.certificate).pull(10)


def test_a_certificate_for_another_host_is_refused_even_from_the_configured_ca(
        tmp_path: Path, sync_app: Any) -> None:
    internal = certificate_authority(tmp_path, "internal-ca")
    elsewhere = issue(internal, tmp_path, "other", san="DNS:other.lykta.internal")
    with serving(sync_app, elsewhere) as url, pytest.raises(BridgeError, match="unreachable"):
        casework_client(tmp_path, url, intake_sync_ca_file=internal.certificate).pull(10)


def test_a_server_that_asks_for_a_client_certificate_gets_casework_s(
        tmp_path: Path, sync_app: Any) -> None:
    internal = certificate_authority(tmp_path / "internal", "internal-ca")
    stranger = certificate_authority(tmp_path / "stranger", "stranger-ca")
    server = issue(internal, tmp_path / "internal", "sync", san="IP:127.0.0.1")
    casework = issue(internal, tmp_path / "internal", "casework", client=True)
    forged = issue(stranger, tmp_path / "stranger", "casework", client=True)

    with serving(sync_app, server, client_ca=internal) as url:
        trusted = {"intake_sync_ca_file": internal.certificate}
        assert casework_client(tmp_path, url, **trusted,
                               intake_sync_client_cert=casework.pem()).pull(10) == []
        for without in ({}, {"intake_sync_client_cert": forged.pem()}):
            with pytest.raises(BridgeError, match="unreachable"):
                casework_client(tmp_path, url, **trusted, **without).pull(10)


def test_an_unreadable_tls_file_is_named_by_its_setting(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(BridgeError, match="intake_sync_ca_file"):
        casework_client(tmp_path, "https://127.0.0.1:1", intake_sync_ca_file=junk)
    with pytest.raises(BridgeError, match="intake_sync_client_cert"):
        casework_client(tmp_path, "https://127.0.0.1:1", intake_sync_client_cert=junk)
