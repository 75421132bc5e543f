"""The instance folder is private, cookies are Secure, TOTP secrets are sealed at rest."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select, update

import crypto
from casework import CaseworkConfig, create_app
from casework.models import Role, User
from common.db import Database
from tests.support.databases import sqlite_only, stored_bytes

from .accounts_support import finish_enrolling, new_person, post_login, start_enrolling, user
from .conftest import PASSWORD, Staff, log_in, services


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@sqlite_only
def test_casework_database_and_its_wal_and_shm_are_owner_only(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = casework.test_client()
    log_in(casework, client, eva)  # writes: the WAL and shared-memory files exist now
    folder = services(casework).config.instance_path
    database = folder / "casework.sqlite"
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert path.exists(), path
        assert mode(path) == 0o600, path
    assert mode(folder) == 0o700
    assert mode(services(casework).config.totp_key_file) == 0o600


@sqlite_only
def test_an_old_world_readable_database_is_made_private_at_start(
    casework: Flask, make_casework: Callable[..., Flask]
) -> None:
    folder = services(casework).config.instance_path
    database = folder / "casework.sqlite"
    folder.chmod(0o755)
    database.chmod(0o644)
    make_casework()
    assert mode(database) == 0o600 and mode(folder) == 0o700


def test_any_app_database_is_created_owner_only(tmp_path: Path) -> None:
    # common.db serves intake too: its database is created 0600 the same way.
    database = Database(f"sqlite:///{tmp_path / 'intake.sqlite'}")
    with database.session() as session:
        session.execute(select(1))
    assert mode(tmp_path / "intake.sqlite") == 0o600
    database.engine.dispose()


def test_the_session_cookie_is_secure_by_default(casework: Flask,
                                                 enrol: Callable[..., Staff]) -> None:
    eva = enrol("eva", Role.REVIEWER)
    client = casework.test_client()
    response = client.post("/login", data={
        "csrf_token": client.get("/login").get_data(as_text=True)
        .split('name="csrf_token" type="hidden" value="')[1].split('"')[0],
        "username": eva.username, "password": eva.password, "code": eva.code(casework)})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lykta_casework=") and "; Secure" in cookie


def test_an_instance_file_without_https_means_secure_cookies(tmp_path: Path) -> None:
    (tmp_path / "casework.json").write_text(json.dumps(
        {"secret_key": base64.b64encode(b"x" * 32).decode()}))
    assert CaseworkConfig.from_instance(tmp_path).https
    (tmp_path / "casework.json").write_text(json.dumps(
        {"secret_key": base64.b64encode(b"x" * 32).decode(), "https": False}))
    assert not CaseworkConfig.from_instance(tmp_path).https


def test_the_loopback_demo_opts_out_of_secure_cookies_and_keeps_its_instance_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LYKTA_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("LYKTA_DEMO_ARGON2", "fast")
    import importlib

    import scripts.demo as demo

    demo = importlib.reload(demo)
    demo.set_up()
    demo.upgrade_instance()
    demo.make_private()
    instance = tmp_path / "instance"
    assert json.loads((instance / "casework.json").read_text())["https"] is False
    assert mode(instance) == 0o700
    for path in instance.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


# --- TOTP secrets sealed at rest ---------------------------------------------------------


def test_totp_secrets_are_sealed_at_rest_under_a_key_outside_the_database(
    casework: Flask,
) -> None:
    temporary = new_person(casework)
    client, secret = start_enrolling(casework, "new", temporary)
    assert finish_enrolling(client, secret, PASSWORD) == 302
    stored = user(casework, "new").totp_secret or ""
    assert stored.startswith("sealed:") and secret not in stored
    config = services(casework).config
    raw = base64.b64decode(stored.removeprefix("sealed:"))
    assert crypto.open_secret(config.totp_key_file.read_bytes(), raw).decode() == secret
    # The database alone holds no trace of the secret, and the key is not in it either.
    database = stored_bytes(config.database_url)
    assert secret.encode() not in database
    assert config.totp_key_file.read_bytes() not in database


def test_plaintext_totp_secrets_are_sealed_at_start_up_and_still_work(
    casework: Flask, enrol: Callable[..., Staff], make_casework: Callable[..., Flask]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    with services(casework).db.session() as db:  # as written by the previous version
        db.execute(update(User).values(totp_secret=eva.totp_secret))
    restarted = make_casework()
    assert (user(restarted, "eva").totp_secret or "").startswith("sealed:")
    log_in(restarted, restarted.test_client(), eva)
    make_casework()  # idempotent: a sealed secret is not sealed twice
    assert user(restarted, "eva").totp_secret == user(casework, "eva").totp_secret


def test_a_replaced_totp_key_refuses_sign_in_rather_than_guessing(
    casework: Flask, enrol: Callable[..., Staff]
) -> None:
    eva = enrol("eva", Role.REVIEWER)
    make_config = services(casework).config
    make_config.totp_key_file.write_bytes(crypto.new_secret_key())
    client = casework.test_client()
    status = post_login(client, eva.username, eva.password, pyotp.TOTP(eva.totp_secret).now())
    assert status == 422  # an integrity failure, never a sign-in


def test_the_totp_key_is_created_once_and_never_overwritten(
    casework_config: CaseworkConfig, tmp_path: Path
) -> None:
    app = create_app(replace(casework_config, totp_key_path=tmp_path / "keys" / "totp.key"))
    key_file = app.extensions["lykta.casework"].config.totp_key_file
    first = key_file.read_bytes()
    assert len(first) == 32 and mode(key_file) == 0o600
    create_app(replace(casework_config, totp_key_path=key_file))
    assert key_file.read_bytes() == first
