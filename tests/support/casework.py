"""A casework app with its units and enrolled staff, and an intake app linked to it.

tests/casework's fixtures and bench/casework_bench.py build them with these functions.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from casework import CaseworkConfig
from casework.accounts import create_user
from casework.cli import DEFAULT_UNITS
from casework.directory import export_directory
from casework.enrolment import complete_enrolment
from casework.models import Membership, Role, Unit, User
from casework.services import EXTENSION, Casework
from intake import IntakeConfig
from intake import create_app as create_intake

from .databases import app_database

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def services(app: Flask) -> Casework:
    found: Casework = app.extensions[EXTENSION]
    return found


def casework_config(folder: Path, argon2: crypto.Argon2Params,
                    database_url: str) -> CaseworkConfig:
    """The config of the casework app in ``folder`` that tests/casework's fixtures build."""
    return CaseworkConfig(instance_path=folder, database_url=database_url,
                          secret_key=b"c" * 32,
                          signing_key_path=folder / "casework-signing.seed", argon2=argon2)


def add_default_units(app: Flask) -> None:
    """The units ``casework init`` creates (those not there yet)."""
    with services(app).db.session() as db:
        for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
            if db.get(Unit, unit_id) is None:
                db.add(Unit(id=unit_id, name_sv=sv, name_en=en,
                            alternate_unit_id=alternate, receives_reports=receives))


@dataclass
class Staff:
    """An enrolled account, with what its owner knows."""

    username: str
    password: str
    totp_secret: str
    key: crypto.PrivateKey | None

    def code(self, app: Flask) -> str:
        """A TOTP code for a time step not used before (the app refuses replays)."""
        with services(app).db.session() as db:
            user = db.scalar(select(User).where(User.username == self.username))
            assert user is not None
            last = user.totp_last_step
        return pyotp.TOTP(self.totp_secret).at(fresh_step(last) * 30)


def fresh_step(last_step: int) -> int:
    """A TOTP step after ``last_step`` that the app accepts now and for 5 s at least.

    The app accepts the current step and one on either side. The step before the current
    one leaves the most room for later sign-ins, but only while the current step has more
    than 5 s to run: later, its end could pass before the code is checked (a loaded
    machine), the previous step would leave the window, and a test would fail at random.
    """
    now = time.time()
    current = int(now) // 30
    step = max(last_step + 1, current - 1 if now % 30 < 25 else current)
    while step > int(time.time()) // 30 + 1:
        time.sleep(1)
    return step


def enrol(app: Flask, username: str, role: Role, unit: str = "etik",
          also: tuple[tuple[str, Role], ...] = ()) -> Staff:
    """Create and fully enrol a person (as the CLI and the first sign-in would); ``also``
    gives them more (unit, role) memberships."""
    config = services(app).config
    with services(app).db.session() as db:
        user, _ = create_user(db, config, username=username, display_name=username.title(),
                              unit_id=unit, role=role)
        for other_unit, other_role in also:
            user.memberships.append(Membership(unit_id=other_unit, role=other_role.value))
        user.totp_secret = pyotp.random_base32(32)
        secret, user_id = user.totp_secret, user.id
    # The step before the current one, checked at the moment it was chosen (``now``): the
    # check cannot see a later step boundary, and the current step stays free for a first
    # sign-in with an authenticator's code of the moment.
    now = time.time()
    key = complete_enrolment(services(app).db, config, user_id=user_id,
                             code=pyotp.TOTP(secret).at((int(now) // 30 - 1) * 30),
                             new_password=PASSWORD, now=now)
    return Staff(username, PASSWORD, secret, key)


def csrf(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on ``path``."""
    match = CSRF.search(client.get(path).get_data(as_text=True))
    if not match:
        raise AssertionError(f"no CSRF token on {path}")
    return match.group(1)


def link_intake(casework: Flask, folder: Path, escrow: crypto.PrivateKey,
                argon2: crypto.Argon2Params) -> tuple[Flask, crypto.SigningKey]:
    """An intake app in ``folder`` that trusts a directory signed by a new casework key
    (also written where casework signs with it); return it and that key."""
    signing = crypto.SigningKey.generate()
    with services(casework).db.session() as db:
        document = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                    valid_for=dt.timedelta(days=30))
    folder.mkdir()
    (folder / "directory.signed").write_bytes(document)
    intake = create_intake(intake_config(folder, signing.verify_key, argon2,
                                         app_database("intake", folder)))  # a migrated copy
    services(casework).config.signing_key_path.write_bytes(signing.seed())
    return intake, signing


def intake_config(folder: Path, casework_key: crypto.VerifyKey, argon2: crypto.Argon2Params,
                  database_url: str) -> IntakeConfig:
    """The config of the intake app that :func:`link_intake` puts in ``folder``."""
    return IntakeConfig(
        instance_path=folder, database_url=database_url, storage_path=folder / "storage",
        secret_key=b"i" * 32, casework_verify_key=casework_key.raw,
        directory_path=folder / "directory.signed", instance_salt=b"t" * 16,
        argon2=argon2, login_floor_seconds=0.0)


def log_in(app: Flask, client: FlaskClient, staff: Staff) -> None:
    """Sign ``staff`` in on ``client`` through the form, password and a fresh TOTP code."""
    response = client.post("/login", data={"csrf_token": csrf(client, "/login"),
                                           "username": staff.username,
                                           "password": staff.password,
                                           "code": staff.code(app)})
    if response.status_code != 302 or response.headers["Location"] != "/":
        raise AssertionError(f"sign-in of {staff.username} answered {response.status_code}: "
                             + response.get_data(as_text=True)[:1000])
