"""``flask --app casework ...``: first administrator, key ceremonies, directory export.

Each command that touches the database runs in one unit of work (``services.unit()``),
so the events its domain functions emit (:mod:`casework.events`) reach the app's
dispatcher, the audit log among its subscribers, when the command's transaction commits.
A refused command (a domain exception, a ``click.ClickException`` raised inside the unit)
rolls back: it changes nothing and emits nothing. The bridge commands are the exception:
a cycle or a bundle import commits each item in a unit of its own, and acknowledges only
what has committed (``casework/bridge/``).
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import os
from pathlib import Path

import click
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

import crypto
from common import db_cli
from common.unit_of_work import emit_on

from . import migrate
from .accounts import approve_key, create_user, reset_password, rotate_key
from .directory import DirectoryNotReady, export_directory
from .errors import CaseworkError
from .events import UnitAdded
from .housekeeping import sweep
from .key_recovery import readdress_cases_to
from .models import Role, Unit
from .services import current


def _english(error: CaseworkError) -> str:
    """A domain error's message for the command line: in English, outside any request."""
    with force_locale("en"):
        return str(error.explanation)


DEFAULT_UNITS = [
    ("etik", "Etikkommittén", "Ethics committee", "akt", True),
    ("akt", "Antikorruptionsteamet", "Anti-corruption team", "etik", True),
    ("kof", "Kommissionen för offentlig förvaltning (KOF)",
     "Commission for Public Administration (KOF)", None, False),
]


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def load_signing_key(path: Path) -> crypto.SigningKey:
    """Casework's Ed25519 signing key (a 32-byte seed file, owner-only)."""
    try:
        return crypto.SigningKey.from_seed(path.read_bytes())
    except FileNotFoundError as exc:
        raise click.ClickException(
            f"no signing key at {path}: run `flask --app casework keys signing-init`") from exc


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""
    from . import (
        cli_audit,
        cli_backup,
        cli_cases,
        cli_conflicts,
        cli_deadlines,
        cli_identity,
        cli_oral,
        cli_retention,
        cli_statistics,
    )
    from .jobs import cli as jobs_cli

    cli_audit.register(app)
    cli_deadlines.register(app)
    cli_identity.register(app)
    cli_oral.register(app)
    cli_retention.register(app)
    cli_statistics.register(app)
    cli_cases.register(app)
    cli_conflicts.register(app)  # after cli_cases: it adds to the cases group
    jobs_cli.register(app)
    db_cli.register(app, migrate.MIGRATIONS, lambda: current().config.database_url)
    cli_backup.register(app)

    @app.cli.group("units")
    def units() -> None:
        """Units that receive reports."""

    @units.command("init")
    def units_init() -> None:
        """Create the default units (Etikkommittén, Antikorruptionsteamet, KOF)."""
        with current().unit() as work:
            db = work.session
            for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
                if db.get(Unit, unit_id) is None:
                    db.add(Unit(id=unit_id, name_sv=sv, name_en=en,
                                alternate_unit_id=alternate, receives_reports=receives))
                    emit_on(db, UnitAdded(unit_id, alternate, receives))
        click.echo("Units ready: " + ", ".join(u[0] for u in DEFAULT_UNITS))

    @units.command("add")
    @click.argument("unit_id")
    @click.option("--sv", "name_sv", required=True, help="Swedish name.")
    @click.option("--en", "name_en", required=True, help="English name.")
    @click.option("--alternate", default=None,
                  help="Unit that receives reports about this unit's own members.")
    @click.option("--no-reports", is_flag=True, help="The unit receives no reports (e.g. KOF).")
    def units_add(unit_id: str, name_sv: str, name_en: str, alternate: str | None,
                  no_reports: bool) -> None:
        """Add a unit (then create its people and export a new directory)."""
        with current().unit() as work:
            db = work.session
            if db.get(Unit, unit_id) is not None:
                raise click.ClickException(f"the unit {unit_id!r} exists")
            if alternate is not None and db.get(Unit, alternate) is None:
                raise click.ClickException(f"there is no unit {alternate!r}")
            db.add(Unit(id=unit_id, name_sv=name_sv, name_en=name_en,
                        alternate_unit_id=alternate, receives_reports=not no_reports))
            emit_on(db, UnitAdded(unit_id, alternate, not no_reports))
        click.echo(f"Unit {unit_id} added.")

    @app.cli.group("users")
    def users() -> None:
        """Staff accounts."""

    @users.command("create")
    @click.argument("username")
    @click.option("--name", "display_name", required=True, help="Display name.")
    @click.option("--unit", "unit_id", required=True, help="Unit id, e.g. etik.")
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    def users_create(username: str, display_name: str, unit_id: str, role: str) -> None:
        """Create an account; prints a one-time password (TOTP is set up at first sign-in)."""
        services = current()
        try:
            with services.unit() as work:
                _, password = create_user(work.session, services.config, username=username,
                                          display_name=display_name, unit_id=unit_id,
                                          role=Role(role))
        except CaseworkError as exc:
            raise click.ClickException(_english(exc)) from exc
        click.echo(f"Created {username} ({role} in {unit_id}).")
        click.echo(f"One-time password: {password}")
        click.echo("At first sign-in they scan a QR code and choose their own password.")

    @users.command("reset-password")
    @click.argument("username")
    @click.option("--by", "by", default=None,
                  help="The administrator doing the reset (may not approve a new key).")
    def users_reset(username: str, by: str | None) -> None:
        """Give a temporary password; the person re-enrols and may keep their key.

        Every session of the person ends at once.
        """
        services = current()
        # Without --by, the operating-system account is recorded (informational).
        resetter = by or f"cli:{getpass.getuser()}"
        try:
            with services.unit() as work:
                password = reset_password(work.session, services.config, username, by=resetter)
        except CaseworkError as exc:
            raise click.ClickException(_english(exc)) from exc
        click.echo(f"Their sessions are closed. One-time password for {username}: {password}")

    @app.cli.group("sessions")
    def sessions_group() -> None:
        """Staff sessions."""

    @sessions_group.command("sweep")
    def sessions_sweep() -> None:
        """Delete expired sessions (and their locked keys), enrolments and counters."""
        services = current()
        with services.unit() as work:
            swept = sweep(work.session, services.config)
        click.echo(f"Deleted {swept.sessions} expired sessions, {swept.enrolments} expired "
                   f"enrolments and {swept.unknown_names} old failure counters.")

    @app.cli.group("keys")
    def keys() -> None:
        """Key ceremonies."""

    @keys.command("signing-init")
    def signing_init() -> None:
        """Create casework's Ed25519 signing key (signs the directory and sync messages)."""
        path = current().config.signing_key_path
        if path.exists():
            raise click.ClickException(f"{path} exists; refusing to overwrite a signing key")
        key = crypto.SigningKey.generate()
        _write_private(path, key.seed())
        click.echo(f"Signing key written to {path}.")
        # In the form intake.json reads it (base64): hex would decode as base64 too, to
        # the wrong bytes, and fail with a message about the length.
        pinned = base64.b64encode(key.verify_key.raw).decode("ascii")
        click.echo(f"Pin this verify key in intake.json as casework_verify_key: {pinned}")

    @keys.command("escrow-init")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Where to write the wrapped escrow private key (take it offline).")
    @click.password_option("--passphrase", help="Passphrase that wraps the escrow key.")
    def escrow_init(out: Path, passphrase: str) -> None:
        """Create KOF's offline escrow key pair; prints the public key for casework.json."""
        key = crypto.generate_escrow_key()
        _write_private(out, crypto.wrap_private_key(key, passphrase,
                                                    current().config.argon2))
        click.echo(f"Wrapped escrow key written to {out}: move it offline now.")
        click.echo(f'Add to casework.json: "escrow_public_key": "{key.public_key.raw.hex()}"')

    @keys.command("rotate")
    @click.argument("username")
    @click.password_option("--password", confirmation_prompt=False,
                           help="The person's current password (wraps the new key).")
    def keys_rotate(username: str, password: str) -> None:
        """Give a person a new key pair (then export a new directory)."""
        services = current()
        try:
            with services.unit() as work:
                public = rotate_key(work.session, services.config, username, password)
        except CaseworkError as exc:
            raise click.ClickException(_english(exc)) from exc
        click.echo(f"New key id for {username}: {public.key_id_hex}")
        click.echo("Export a new recipient directory so that intake uses it.")

    @keys.command("approve")
    @click.argument("username")
    @click.option("--by", "by", required=True,
                  help="The approving administrator's user name (not the one who reset).")
    def keys_approve(username: str, by: str) -> None:
        """Publish a key made after a password reset (a second administrator's approval)."""
        services = current()
        try:
            with services.unit() as work:
                public = approve_key(work.session, username, by=by)
        except CaseworkError as exc:
            raise click.ClickException(_english(exc)) from exc
        click.echo(f"Approved key {public.key_id_hex} of {username}.")
        click.echo("Export a new recipient directory so that intake uses it.")

    @keys.command("recover")
    @click.argument("username")
    @click.option("--escrow-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  required=True, help="The wrapped escrow private key (brought online).")
    @click.password_option("--passphrase", confirmation_prompt=False,
                           help="The escrow key's passphrase.")
    def keys_recover(username: str, escrow_key: Path, passphrase: str) -> None:
        """Give a person's new key access to their units' cases, using the escrow key."""
        try:
            escrow = crypto.unwrap_private_key(escrow_key.read_bytes(), passphrase)
        except crypto.CryptoError as exc:
            raise click.ClickException("the escrow key does not open with that passphrase") \
                from exc
        try:
            with current().unit() as work:
                count = readdress_cases_to(work.session, username, escrow)
        except CaseworkError as exc:
            raise click.ClickException(_english(exc)) from exc
        click.echo(f"Added {username}'s current key to {count.envelopes} envelopes.")
        if count.refused:
            click.echo(f"{count.refused} cases were left alone: their reader list does not "
                       "match its tag (tell the security officer).")
        click.echo("Take the escrow key offline again.")

    @app.cli.group("directory")
    def directory() -> None:
        """The signed recipient directory that intake needs."""

    @directory.command("export")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
    def directory_export(out: Path) -> None:
        """Sign and write the directory of units, reviewers, custodians and escrow key."""
        services = current()
        config = services.config
        escrow = (crypto.PublicKey(config.escrow_public_key)
                  if config.escrow_public_key else None)
        try:
            with services.unit() as work:
                document = export_directory(
                    work.session, signing_key=load_signing_key(config.signing_key_path),
                    escrow=escrow, valid_for=dt.timedelta(days=config.directory_valid_days))
        except DirectoryNotReady as exc:
            raise click.ClickException(str(exc)) from exc
        out.write_bytes(document)
        click.echo(f"Signed directory written to {out}; install it as intake's directory.")

    @app.cli.group("bridge")
    def bridge_group() -> None:
        """The signed bridge to intake."""

    @bridge_group.command("sync")
    def bridge_sync() -> None:
        """Run one cycle now: pull, fetch, import, acknowledge, push."""
        from .bridge import BridgeError, client_for, run_cycle

        services = current()
        try:
            report = run_cycle(services, client_for(services))
        except BridgeError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"imported {report.imported}, acknowledged {report.acknowledged}, "
                   f"pushed {report.pushed}")

    @bridge_group.command("schedule")
    @click.option("--every", default=30, show_default=True, help="Seconds between cycles.")
    @click.option("--count", default=0, help="Stop after this many (0: run until stopped).")
    def bridge_schedule(every: int, count: int) -> None:
        """Queue a cycle every N seconds (to Redis if configured, else run it here).

        Production runs `flask --app casework jobs schedule` instead: every periodic
        job, one leader across machines."""
        import time

        from .jobs import enqueue_sync

        services = current()
        done = 0
        while count == 0 or done < count:
            try:
                click.echo(enqueue_sync(services.config.redis_url,
                                        services.config.instance_path))
            except Exception as exc:  # keep scheduling; say what failed (type only)
                click.echo(f"cycle failed: {type(exc).__name__}", err=True)
            done += 1
            if count == 0 or done < count:
                time.sleep(every)

    @bridge_group.command("import")
    @click.option("--in", "source", type=click.Path(exists=True, dir_okay=False,
                                                    path_type=Path), required=True)
    @click.option("--reply", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Where to write the bundle for intake (acknowledgements, replies).")
    def bridge_import(source: Path, reply: Path) -> None:
        """Air-gap mode: import intake's bundle and write the answer bundle for intake."""
        from common.bundles import BundleRefused

        from .bridge.bundles import import_bundle

        services = current()
        config = services.config
        if config.intake_verify_key is None:
            raise click.ClickException("casework.json has no intake_verify_key")
        try:
            answer = import_bundle(services, source.read_bytes(),
                                   signing_key=load_signing_key(config.signing_key_path),
                                   intake_key=crypto.VerifyKey(config.intake_verify_key))
        except BundleRefused as exc:
            raise click.ClickException(str(exc)) from exc
        reply.write_bytes(answer.bundle)
        stored = answer.acknowledged
        click.echo(f"imported {len(stored)}; wrote {len(stored)} acknowledgements and "
                   f"{answer.replies} replies to {reply}")

    @bridge_group.command("export")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
    def bridge_export(out: Path) -> None:
        """Air-gap mode: write replies waiting for intake to a bundle (sealed, signed)."""
        from .bridge.bundles import export_bundle

        services = current()
        config = services.config
        if config.intake_verify_key is None:
            raise click.ClickException("casework.json has no intake_verify_key")
        count, bundle = export_bundle(services,
                                      signing_key=load_signing_key(config.signing_key_path),
                                      intake_key=crypto.VerifyKey(config.intake_verify_key))
        out.write_bytes(bundle)
        click.echo(f"{count} replies written to {out}")

    @bridge_group.command("status")
    def bridge_status() -> None:
        """When the last cycle completed, and whether that is too long ago."""
        from .bridge import last_success, sync_is_stale

        services = current()
        with services.unit() as work:
            last = last_success(work.session)
            stale = sync_is_stale(services, work.session)
        click.echo(f"last successful sync: {last.isoformat() + ' UTC' if last else 'never'}")
        if stale:
            click.echo("WARNING: older than the configured limit")

    @app.cli.command("units-list")
    def units_list() -> None:
        """List units."""
        with current().unit() as work:
            for unit in work.session.scalars(select(Unit)):
                click.echo(f"{unit.id}\t{unit.name_sv}\t{unit.name_en}")
