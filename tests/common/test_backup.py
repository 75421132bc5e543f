"""Backups of both apps: a round trip into empty databases reads a case back (on SQLite and
on PostgreSQL); a damaged, truncated, foreign or misdirected backup restores nothing; the
file holds no plaintext. Casework's audit log records each backup and restore by the sealed
file's size and SHA-256, and still verifies."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.directory import export_directory
from casework.models import AuditCheckpoint, AuditEntry, Case, CaseEnvelope, Role
from common.backup import BackupSource, create_backup, engine_for, reflect, snapshot
from common.backup_restore import restore_backup
from crypto.backup import backup_key_file, new_backup_key
from intake import IntakeConfig
from intake import cli_backup as intake_backup
from intake import create_app as create_intake
from scripts.local_bridge import sync_once
from tests.casework.conftest import EnglishClient
from tests.intake.conftest import sign_in, submit
from tests.support.casework import Staff, add_default_units, enrol, log_in, services
from tests.support.databases import migrated_copy

BACKUP_KEY = new_backup_key()
WHAT = "Backup-test report: the procurement officer took kickbacks 7Q3X"


@dataclass
class World:
    folder: Path
    casework: Flask
    intake: Flask
    eva: Staff
    receipt: str
    case_id: str
    key_file: Path


def _url(dialect: str, folder: Path, app: str, new_postgres: Callable[[], str] | None) -> str:
    if dialect == "postgresql":
        assert new_postgres is not None
        return new_postgres()
    (folder / app).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{migrated_copy(app, folder / app / f'{app}.sqlite')}"


def _casework(folder: Path, url: str, argon2: crypto.Argon2Params, *, sealed: bool = True,
              **more: object) -> Flask:
    folder.mkdir(parents=True, exist_ok=True)
    app = create_casework(CaseworkConfig(
        instance_path=folder, database_url=url, secret_key=b"c" * 32,
        signing_key_path=folder / "casework-signing.seed", argon2=argon2,
        backup_public_key=BACKUP_KEY.public_key.raw if sealed else None,
        **more))  # type: ignore[arg-type]
    app.config["TESTING"] = True
    app.test_client_class = EnglishClient
    return app


def _intake(folder: Path, url: str, argon2: crypto.Argon2Params, directory: bytes,
            verify_key: bytes) -> Flask:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "directory.signed").write_bytes(directory)
    app = create_intake(IntakeConfig(
        instance_path=folder, database_url=url, storage_path=folder / "storage",
        secret_key=b"i" * 32, casework_verify_key=verify_key,
        directory_path=folder / "directory.signed", instance_salt=b"t" * 16,
        argon2=argon2, login_floor_seconds=0.0,
        backup_public_key=BACKUP_KEY.public_key.raw))
    app.config["TESTING"] = True
    return app


def _world(tmp_path: Path, argon2: crypto.Argon2Params, dialect: str,
           new_postgres: Callable[[], str] | None = None) -> World:
    """A report sent through intake, imported and acknowledged, on ``dialect``."""
    folder = tmp_path / "source"
    escrow = crypto.generate_escrow_key()
    casework = _casework(folder / "casework", _url(dialect, folder, "casework", new_postgres),
                         argon2, escrow_public_key=escrow.public_key.raw)
    add_default_units(casework)
    eva = enrol(casework, "eva", Role.REVIEWER, "etik")
    enrol(casework, "anna", Role.REVIEWER, "akt")
    signing = crypto.SigningKey.generate()
    with services(casework).db.session() as db:
        directory = export_directory(db, signing_key=signing, escrow=escrow.public_key,
                                     valid_for=dt.timedelta(days=30))
    intake = _intake(folder / "intake", _url(dialect, folder, "intake", new_postgres), argon2,
                     directory, signing.verify_key.raw)
    receipt = submit(intake.test_client(), category="ethics", what=WHAT)
    assert sync_once(intake.extensions["lykta.intake"], services(casework)) == (1, 1)
    with services(casework).db.session() as db:
        case_id = db.scalars(select(Case.id)).one()
    key_file = tmp_path / "backup.key"
    key_file.write_bytes(backup_key_file(BACKUP_KEY))
    return World(folder, casework, intake, eva, receipt, case_id, key_file)


def _run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def _counts(app: Flask, url: str) -> dict[str, int]:
    engine = engine_for(url)
    try:
        with snapshot(engine) as connection:
            return {name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                    for name, table in reflect(connection).tables.items()}
    finally:
        engine.dispose()


def _store_files(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())


def _log(app: Flask) -> list[tuple[str | None, str, dict[str, object]]]:
    """The audit log: (actor, action, details) of every entry, oldest first."""
    with services(app).db.session() as db:
        return [(actor, action, json.loads(details)) for actor, action, details in db.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.details)
            .order_by(AuditEntry.seq))]


def _without_the_log(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items()
            if name not in (AuditEntry.__tablename__, AuditCheckpoint.__tablename__)}


def _assert_plaintext_free(backup: bytes, *secrets_: str) -> None:
    for secret in secrets_:
        for form in {secret, secret.replace("-", ""), secret.lower()}:
            assert form.encode() not in backup, form
            assert base64.b64encode(form.encode())[:-4] not in backup


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_round_trip_into_empty_databases_reads_the_case_back(
        tmp_path: Path, argon2_params: crypto.Argon2Params, dialect: str,
        request: pytest.FixtureRequest) -> None:
    new_postgres = (request.getfixturevalue("new_postgres_database")
                    if dialect == "postgresql" else None)
    world = _world(tmp_path, argon2_params, dialect, new_postgres)
    casework_url = services(world.casework).config.database_url
    intake_url = world.intake.extensions["lykta.intake"].config.database_url
    before = _log(world.casework)
    made = _run(world.casework, "backup", "create", str(tmp_path / "casework.lykbak"))
    assert made.exit_code == 0, made.output
    assert "Backup of casework written" in made.output
    # The backup is in the log, named by its sealed bytes (the printed SHA-256), with no
    # key and no content; it holds the log as it was before that entry.
    made_file = (tmp_path / "casework.lykbak").read_bytes()
    digest = hashlib.sha256(made_file).hexdigest()
    assert f"SHA-256 {digest}" in made.output
    after = _log(world.casework)
    assert after[:-1] == before
    assert after[-1][:2] == (None, "backup_created")
    assert after[-1][2] == {"command": "backup create", "size": len(made_file), "sha256": digest,
                            "tables": after[-1][2]["tables"], "rows": after[-1][2]["rows"],
                            "files": 4}  # the body, its copy for the tipster, two key files
    assert _run(world.casework, "audit", "verify").exit_code == 0
    assert _run(world.intake, "backup", "create", str(tmp_path / "intake.lykbak")).exit_code == 0
    for name in ("casework.lykbak", "intake.lykbak"):
        sealed = (tmp_path / name).read_bytes()
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
        assert sealed[:4] == b"LYKK"
        _assert_plaintext_free(sealed, WHAT, world.receipt, casework_url, intake_url,
                               "procurement officer")

    # Casework into an empty database and folder: eva signs in (the TOTP key came along)
    # and reads the report, decrypted with her key as the app does.
    target = tmp_path / "target"
    casework_target_url = _url(dialect, target, "casework", new_postgres)
    restored = _casework(target / "casework", casework_target_url, argon2_params)
    result = _run(restored, "backup", "restore", str(tmp_path / "casework.lykbak"),
                  "--key", str(world.key_file))
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output
    assert f"SHA-256 {digest}" in result.output
    assert _without_the_log(_counts(restored, casework_target_url)) == \
        _without_the_log(_counts(world.casework, casework_url))
    # The restored log: the backup's entries, then the restore's, chained and signed on.
    assert _log(restored) == [*before, (None, "backup_restored", {
        "command": "backup restore", "size": len(made_file), "sha256": digest})]
    assert (target / "casework" / "totp.key").read_bytes() == \
        services(world.casework).config.totp_key_file.read_bytes()
    client = restored.test_client()
    log_in(restored, client, world.eva)
    page = client.get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert WHAT in page
    assert _run(restored, "audit", "verify").exit_code == 0
    with services(restored).db.session() as db:
        assert set(db.scalars(select(CaseEnvelope.case_id))) == {world.case_id}

    # Intake: the tipster signs in with the receipt and sees the acknowledgement.
    intake_target_url = _url(dialect, target, "intake", new_postgres)
    directory = (world.folder / "intake" / "directory.signed").read_bytes()
    verify_key = world.intake.extensions["lykta.intake"].config.casework_verify_key
    intake = _intake(target / "intake", intake_target_url, argon2_params, directory, verify_key)
    result = _run(intake, "backup", "restore", str(tmp_path / "intake.lykbak"),
                  "--key", str(world.key_file))
    assert result.exit_code == 0, result.output
    assert _counts(intake, intake_target_url) == _counts(world.intake, intake_url)
    tipster = intake.test_client()
    sign_in(tipster, world.receipt)
    assert "Thank you for your report" in tipster.get("/dialogue").get_data(as_text=True)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One source for the refusal tests, none of which changes it. The cheap Argon2 cost
    of the argon2_params fixture (function-scoped, so not usable here)."""
    return _world(tmp_path_factory.mktemp("world"), crypto.INSECURE_FAST, "sqlite")


def _empty_target(tmp_path: Path, argon2: crypto.Argon2Params) -> tuple[Flask, str]:
    folder = tmp_path / "empty"
    url = _url("sqlite", folder, "casework", None)
    return _casework(folder / "casework", url, argon2), url


def _nothing_restored(app: Flask, url: str, before: dict[str, bytes]) -> None:
    counts = _counts(app, url)
    assert {name: n for name, n in counts.items() if n} == {"alembic_version": 1}
    config = services(app).config
    assert _store_files(config.storage) == []
    assert {p: Path(p).read_bytes() for p in before} == before  # key files untouched
    leftovers = [p.name for p in config.instance_path.iterdir() if ".restore-" in p.name]
    assert leftovers == []


def _refused(result: Result, words: str) -> None:
    assert result.exit_code == 1, result.output
    assert words in result.output, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_damaged_truncated_extended_or_foreign_backup_restores_nothing(
        sqlite_world: World, tmp_path: Path, argon2_params: crypto.Argon2Params) -> None:
    backup = tmp_path / "casework.lykbak"
    assert _run(sqlite_world.casework, "backup", "create", str(backup)).exit_code == 0
    sealed = backup.read_bytes()
    target, url = _empty_target(tmp_path, argon2_params)
    config = services(target).config
    before = {str(p): p.read_bytes() for p in (config.totp_key_file,
                                                config.audit_signing_key_file)}
    flipped = bytearray(sealed)
    flipped[len(sealed) * 2 // 3] ^= 0x20  # late in the stream: rows were already read
    intake_backup_file = tmp_path / "intake.lykbak"
    assert _run(sqlite_world.intake, "backup", "create", str(intake_backup_file)).exit_code == 0
    other_key = tmp_path / "other.key"
    other_key.write_bytes(backup_key_file(new_backup_key()))
    cases = {
        "damaged": (bytes(flipped), sqlite_world.key_file, "damaged or incomplete"),
        "truncated": (sealed[:len(sealed) - 100], sqlite_world.key_file,
                      "damaged or incomplete"),
        "extended": (sealed + b"\x00" * 64, sqlite_world.key_file, "damaged or incomplete"),
        "wrong key": (sealed, other_key, "sealed to another backup key"),
        "wrong app": (intake_backup_file.read_bytes(), sqlite_world.key_file,
                      "a backup of intake, not of casework"),
        "not a backup": (b"SQLite format 3\x00" + bytes(100), sqlite_world.key_file,
                         "not a Lykta backup"),
    }
    for name, (data, key, words) in cases.items():
        candidate = tmp_path / f"{name}.lykbak"
        candidate.write_bytes(data)
        result = _run(target, "backup", "restore", str(candidate), "--key", str(key))
        _refused(result, words)
        assert "nothing was restored" in result.output, name
        _nothing_restored(target, url, before)
    # And the good one still restores into the same, untouched target.
    assert _run(target, "backup", "restore", str(backup), "--key",
                str(sqlite_world.key_file)).exit_code == 0


def test_a_restore_into_a_database_or_store_that_is_not_empty_is_refused(
        sqlite_world: World, tmp_path: Path) -> None:
    backup = tmp_path / "casework.lykbak"
    assert _run(sqlite_world.casework, "backup", "create", str(backup)).exit_code == 0
    casework_url = services(sqlite_world.casework).config.database_url
    counts = _counts(sqlite_world.casework, casework_url)
    result = _run(sqlite_world.casework, "backup", "restore", str(backup), "--key",
                  str(sqlite_world.key_file))
    _refused(result, "the target database is not empty")
    assert _counts(sqlite_world.casework, casework_url) == counts


def test_a_store_with_bodies_is_not_empty(sqlite_world: World, tmp_path: Path,
                                          argon2_params: crypto.Argon2Params) -> None:
    backup = tmp_path / "casework.lykbak"
    assert _run(sqlite_world.casework, "backup", "create", str(backup)).exit_code == 0
    target, url = _empty_target(tmp_path, argon2_params)
    (services(target).config.storage / ("ab" * 16)).write_bytes(b"a body")
    result = _run(target, "backup", "restore", str(backup), "--key",
                  str(sqlite_world.key_file))
    _refused(result, "is not empty")
    assert {n: c for n, c in _counts(target, url).items() if c} == {"alembic_version": 1}


def test_create_refuses_without_a_backup_public_key(tmp_path: Path,
                                                    argon2_params: crypto.Argon2Params) -> None:
    app = _casework(tmp_path / "casework", _url("sqlite", tmp_path, "casework", None),
                    argon2_params, sealed=False)
    result = _run(app, "backup", "create", str(tmp_path / "b.lykbak"))
    _refused(result, "backup_public_key is not set")
    assert not (tmp_path / "b.lykbak").exists()


def test_a_backup_whose_audit_entry_cannot_be_written_leaves_no_file(
        sqlite_world: World, tmp_path: Path) -> None:
    app = sqlite_world.casework
    before = _log(app)

    def refuse(_connection: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error (injected)"))

    engine = services(app).db.engine  # the app's own: the backup reads through another
    event.listen(engine, "commit", refuse)
    try:
        result = _run(app, "backup", "create", str(tmp_path / "unrecorded.lykbak"))
    finally:
        event.remove(engine, "commit", refuse)
    _refused(result, "the backup failed (OperationalError); no file was left")
    assert list(tmp_path.iterdir()) == [] and _log(app) == before


def test_create_never_overwrites_and_init_key_never_overwrites(
        sqlite_world: World, tmp_path: Path) -> None:
    existing = tmp_path / "exists.lykbak"
    existing.write_bytes(b"keep")
    _refused(_run(sqlite_world.casework, "backup", "create", str(existing)), "exists")
    assert existing.read_bytes() == b"keep"
    key = tmp_path / "new.key"
    made = _run(sqlite_world.intake, "backup", "init-key", "--private", str(key))
    assert made.exit_code == 0, made.output
    public = made.output.splitlines()[0]
    assert len(bytes.fromhex(public)) == 32
    assert key.stat().st_mode & 0o777 == 0o600
    content = key.read_bytes()
    _refused(_run(sqlite_world.intake, "backup", "init-key", "--private", str(key)),
             "never overwritten")
    assert key.read_bytes() == content
    # The printed key is what the setting takes.
    config = IntakeConfig.from_dict({"secret_key": base64.b64encode(b"k" * 32).decode(),
                                     "instance_salt": base64.b64encode(b"s" * 16).decode(),
                                     "casework_verify_key": base64.b64encode(b"v" * 32).decode(),
                                     "backup_public_key": public}, tmp_path)
    assert config.backup_public_key == bytes.fromhex(public)


def test_intake_refuses_a_backup_made_with_another_instance_salt(
        sqlite_world: World, tmp_path: Path, argon2_params: crypto.Argon2Params) -> None:
    with sqlite_world.intake.app_context():
        source = intake_backup.source()
    backup = tmp_path / "intake.lykbak"
    with backup.open("wb") as out:
        create_backup(replace(source, fingerprints={"instance_salt": "0" * 64}), out)
    target = tmp_path / "target"
    url = _url("sqlite", target, "intake", None)
    config = sqlite_world.intake.extensions["lykta.intake"].config
    intake = _intake(target, url, argon2_params, config.directory_path.read_bytes(),
                     config.casework_verify_key)
    result = _run(intake, "backup", "restore", str(backup), "--key",
                  str(sqlite_world.key_file))
    _refused(result, "another instance_salt")
    assert os.listdir(target / "storage") == ["incoming"]


def test_postgresql_sequences_continue_after_the_highest_restored_id(
        new_postgres_database: Callable[[], str], tmp_path: Path) -> None:
    # Neither app has a serial key today (ids are random); the restore still moves every
    # sequence, so that one added later cannot hand out an id that is already taken.
    source, target = new_postgres_database(), new_postgres_database()
    for url in (source, target):
        engine = engine_for(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) "
                                    "PRIMARY KEY)"))
            connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
            connection.execute(text("CREATE TABLE notes (id SERIAL PRIMARY KEY, "
                                    "parent_id INTEGER REFERENCES notes (id), body BYTEA)"))
        engine.dispose()
    engine = engine_for(source)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes (body) VALUES ('\\x00ff'), ('\\x01')"))
        connection.execute(text("UPDATE notes SET parent_id = 2 WHERE id = 1"))  # forward
    engine.dispose()
    what = BackupSource(app="test", database_url=source, store=tmp_path / "store",
                        public_key=BACKUP_KEY.public_key.raw)
    backup = tmp_path / "test.lykbak"
    with backup.open("wb") as out:
        assert create_backup(what, out).tables == {"alembic_version": 1, "notes": 2}
    restore_backup(replace(what, database_url=target), backup, BACKUP_KEY)
    engine = engine_for(target)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT id, parent_id, body FROM notes ORDER BY id")
                                  ).all() == [(1, 2, b"\x00\xff"), (2, None, b"\x01")]
        assert connection.scalar(text("INSERT INTO notes (body) VALUES (NULL) "
                                      "RETURNING id")) == 3
    engine.dispose()
