"""The linked intake and casework world that most bridge and casework tests start from.

Building it takes most of a test's setup: seven enrolments (Argon2, key pairs, TOTP), a
signed directory, two migrated databases, and a casework app to do it through. The
fixture (tests/casework/linked.py) builds it once per test run and worker into a template
folder (:func:`build_template`) and gives each test a copy of that folder
(:func:`copy_template`), on which it then creates its own, fresh apps: a test owns its
databases, key files and stores, and nothing it writes reaches another test or the
template. What the tests share are the values the template was made with (the staff's
passwords, TOTP secrets and key pairs, the escrow and directory signing keys), read-only.

Where a copy does not apply (PostgreSQL, a test that changed the casework config), the
fixture builds the world in the test's own folder with :func:`link_world` instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from flask import Flask

import crypto
from casework import create_app
from casework.models import Role
from intake import create_app as create_intake
from intake.services import Intake

from .casework import (
    Staff,
    add_default_units,
    casework_config,
    enrol,
    intake_config,
    link_intake,
    services,
)
from .databases import checkpoint, migrated_copy

# Who the linked world has enrolled: name, role, unit.
ROSTER = (
    ("eva", Role.REVIEWER, "etik"),
    ("erik", Role.REVIEWER, "etik"),
    ("anna", Role.REVIEWER, "akt"),
    ("lena", Role.UNIT_LEAD, "akt"),
    ("cecilia", Role.CUSTODIAN, "kof"),
    ("admin", Role.ADMINISTRATOR, "kof"),
    ("stina", Role.STATISTICIAN, "kof"),
)


@dataclass(frozen=True)
class Seed:
    """What the tests know of a linked world besides its apps."""

    staff: dict[str, Staff]
    escrow: crypto.PrivateKey
    signing: crypto.SigningKey  # casework's directory key, pinned by intake

    def own_staff(self) -> dict[str, Staff]:
        """A test's own dict of :class:`Staff` (tests add people, or change one's key)."""
        return {name: replace(person) for name, person in self.staff.items()}


def link_world(make_casework: Callable[..., Flask], intake_folder: Path,
               argon2: crypto.Argon2Params) -> tuple[Flask, Flask, Seed]:
    """Build the world: a casework app from ``make_casework`` (given the escrow key) with
    :data:`ROSTER` enrolled, and an intake app in ``intake_folder`` linked to it."""
    escrow = crypto.generate_escrow_key()
    casework = make_casework(escrow_public_key=escrow.public_key.raw)
    staff = {name: enrol(casework, name, role, unit) for name, role, unit in ROSTER}
    intake, signing = link_intake(casework, intake_folder, escrow, argon2)
    return casework, intake, Seed(staff, escrow, signing)


@dataclass(frozen=True)
class Template:
    """A linked world at rest in ``folder``, laid out as in a test's ``tmp_path``."""

    folder: Path
    argon2: crypto.Argon2Params
    seed: Seed


def sqlite_url(folder: Path, app: str) -> str:
    """Where the tests' fixtures put ``app``'s SQLite database in ``folder``."""
    return f"sqlite:///{folder / f'{app}.sqlite'}"


def build_template(folder: Path, argon2: crypto.Argon2Params) -> Template:
    """Build the world in ``folder`` (SQLite), with its apps stopped and each database
    whole in its one file (nothing left in a WAL), ready to be copied."""
    config = casework_config(folder, argon2, sqlite_url(folder, "casework"))
    migrated_copy("casework", folder / "casework.sqlite")

    def make(**changes: object) -> Flask:
        app = create_app(replace(config, **changes))  # type: ignore[arg-type]
        add_default_units(app)
        return app

    casework, intake, seed = link_world(make, folder / "intake", argon2)
    intake_services: Intake = intake.extensions["lykta.intake"]
    for database in (services(casework).db, intake_services.db):
        checkpoint(database.engine)
        database.engine.dispose()
    return Template(folder, argon2, seed)


# SQLite's side files: empty or gone once the template's apps stopped; never copied, so
# that a copy cannot pair a test's database with the template's log.
_NOT_COPIED = shutil.ignore_patterns("*-wal", "*-shm", "*-journal")


def copy_template(template: Template, folder: Path) -> None:
    """Copy the template's files into ``folder`` (a test's tmp_path): real copies with
    their owner-only modes, never links."""
    shutil.copytree(template.folder, folder, ignore=_NOT_COPIED, dirs_exist_ok=True,
                    copy_function=shutil.copy2)


def start_intake(template: Template, folder: Path) -> Flask:
    """A fresh intake app on the copy of the template's intake in ``folder``/intake."""
    intake_folder = folder / "intake"
    return create_intake(intake_config(intake_folder, template.seed.signing.verify_key,
                                       template.argon2, sqlite_url(intake_folder, "intake")))
