"""An intake and a casework app linked in-process, as the demo links them until issue 5.

The world (seven enrolled staff, a signed directory, both databases) is built once per
test run into a template and copied into each test's folder (tests/support/linked_world.py);
every test still gets its own files and its own, freshly created apps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

import crypto
from casework import CaseworkConfig
from intake.services import Intake
from scripts.local_bridge import sync_once
from tests.support.casework import casework_config as config_in
from tests.support.databases import ON_POSTGRESQL
from tests.support.linked_world import (
    Template,
    build_template,
    copy_template,
    link_world,
    sqlite_url,
    start_intake,
)

from .conftest import Staff, services


@dataclass
class Linked:
    intake: Flask
    casework: Flask
    staff: dict[str, Staff]
    escrow: crypto.PrivateKey
    signing: crypto.SigningKey  # casework's key, pinned by intake

    def sync(self) -> tuple[int, int]:
        intake: Intake = self.intake.extensions["lykta.intake"]
        return sync_once(intake, services(self.casework))


# The templates built in this process, by the run's base folder and Argon2 parameters: a
# cache, not a fixture, so that every module that imports ``linked`` alone still works.
_templates: dict[tuple[Path, crypto.Argon2Params], Template] = {}


def _template(factory: pytest.TempPathFactory, argon2: crypto.Argon2Params) -> Template:
    """The linked world's template, built at its first use (once per worker: each has its
    own base folder, and the template lives under it until the run ends)."""
    key = (factory.getbasetemp(), argon2)
    if key not in _templates:
        _templates[key] = build_template(factory.mktemp("linked-template"), argon2)
    return _templates[key]


def _copy_applies(config: CaseworkConfig, folder: Path, argon2: crypto.Argon2Params) -> bool:
    """Whether the template is what this test would build: its casework config is the
    fixture's own, unchanged, on SQLite, and no app has started in its folder yet."""
    return (not ON_POSTGRESQL
            and config == config_in(folder, argon2, sqlite_url(folder, "casework"))
            and not config.audit_signing_key_file.exists()  # written at an app's start
            and not (folder / "intake").exists())


@pytest.fixture
def linked(make_casework: Callable[..., Flask], casework_config: CaseworkConfig,
           tmp_path: Path, argon2_params: crypto.Argon2Params,
           tmp_path_factory: pytest.TempPathFactory) -> Linked:
    if _copy_applies(casework_config, tmp_path, argon2_params):
        template = _template(tmp_path_factory, argon2_params)
        copy_template(template, tmp_path)  # over the empty database casework_config made
        seed = template.seed
        casework = make_casework(escrow_public_key=seed.escrow.public_key.raw)
        intake = start_intake(template, tmp_path)
    else:
        casework, intake, seed = link_world(make_casework, tmp_path / "intake", argon2_params)
    intake.config["TESTING"] = True
    return Linked(intake, casework, seed.own_staff(), seed.escrow, seed.signing)
