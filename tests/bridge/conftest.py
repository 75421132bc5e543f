"""Fixtures for the bridge: intake's sync app served over real HTTP on loopback."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from flask import Flask

import crypto
from casework.bridge import CycleReport, IntakeClient, run_cycle
from common.serve import build_server
from intake.bridge.sync import create_app as create_sync_app
from tests.casework.conftest import (  # noqa: F401 (fixtures)
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401 (fixture)


@dataclass
class Bridged:
    linked: Linked
    sync_app: Flask
    url: str
    intake_key: crypto.SigningKey

    def client(self, *, signing: crypto.SigningKey | None = None,
               intake_key: crypto.VerifyKey | None = None) -> IntakeClient:
        return IntakeClient(self.url, signing or self.linked.signing,
                            intake_key or self.intake_key.verify_key)

    def cycle(self, client: IntakeClient | None = None) -> CycleReport:
        return run_cycle(services(self.linked.casework), client or self.client())


@pytest.fixture
def bridged(linked: Linked) -> Iterator[Bridged]:  # noqa: F811
    seed = secrets.token_bytes(32)
    config = replace(linked.intake.extensions["lykta.intake"].config, sync_signing_seed=seed)
    sync_app = create_sync_app(config)
    server = build_server(sync_app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield Bridged(linked, sync_app, f"http://127.0.0.1:{server.server_port}",
                      crypto.SigningKey.from_seed(seed))
    finally:
        server.shutdown()
