"""``flask --app intake ...``: the operator's view of the bridge.

What a command reads here it reads in a unit of work (``Intake.unit()``), like a request.
The bundle import hands casework's commands, acknowledgements and replies to the same
functions as the sync app (``intake/bridge/commands.py``, ``intake/bridge/outbox.py``),
each in a transaction of its own: one reply or command intake refuses must not undo the
others, and none of them is a domain event of intake's.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

import crypto
from common import db_cli
from common.bundles import BundleRefused, read_to_intake, write_to_casework
from common.contract import Audience, BundledTipsterItem
from common.sync_schema import MAX_ITEMS

from . import migrate
from .bridge.commands import apply_bundle_commands, bundle_commands_as_of, receipt_ids
from .bridge.outbox import PushRefused, accept_for_tipster, acknowledge, outbox
from .models import StoredEnvelope, SyncState
from .services import current


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""

    @app.cli.group("bridge")
    def bridge() -> None:
        """The bridge to casework (casework always connects here, never the reverse)."""

    @bridge.command("status")
    def status() -> None:
        """When casework last made a verified sync request."""
        with current().unit() as unit:
            state = unit.session.get(SyncState, "last_request")
            click.echo("last verified sync request: "
                       f"{state.at.isoformat() + ' UTC' if state else 'never'}")

    @bridge.command("key")
    def key() -> None:
        """Print intake's verify key, for casework.json's intake_verify_key (hex)."""
        signing, _casework = _keys()
        click.echo(signing.verify_key.raw.hex())

    register_bundles(app)
    from . import cli_backup

    cli_backup.register(app)
    db_cli.register(app, migrate.MIGRATIONS, lambda: current().config.database_url)


def _keys() -> tuple[crypto.SigningKey, crypto.VerifyKey]:
    config = current().config
    if config.sync_signing_seed is None:
        raise click.ClickException("intake.json has no sync_signing_seed")
    return (crypto.SigningKey.from_seed(config.sync_signing_seed),
            crypto.VerifyKey(config.casework_verify_key))


def register_bundles(app: Flask) -> None:
    """Air-gap mode: the bridge's messages as encrypted, signed files."""
    bridge = app.cli.commands["bridge"]
    assert isinstance(bridge, click.Group)  # noqa: S101 (registered just above)

    @bridge.command("export")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @click.option("--batch", default=1000, show_default=True)
    def export(out: Path, batch: int) -> None:
        """Write waiting envelopes for casework to a bundle (sealed to casework, signed)."""
        signing, casework = _keys()
        intake = current()
        # Casework refuses a bundle of more items than the schema allows (MAX_ITEMS).
        items = [BundledTipsterItem(item.item(), item.body_path.read_bytes())
                 for item in outbox(intake, max(1, min(batch, MAX_ITEMS)))]
        with intake.unit() as unit:
            delivered = list(unit.session.scalars(select(StoredEnvelope.id).where(
                StoredEnvelope.audience == Audience.TIPSTER)))
        # Every receipt held, and the newest command time applied: casework sees from
        # them which of its commands took (intake keeps no list of command ids).
        out.write_bytes(write_to_casework(signing, casework, items, delivered,
                                          receipts=receipt_ids(intake),
                                          commands_as_of=bundle_commands_as_of(intake)))
        click.echo(f"{len(items)} envelopes written to {out}")

    @bridge.command("import")
    @click.option("--in", "source", type=click.Path(exists=True, dir_okay=False,
                                                    path_type=Path), required=True)
    def import_(source: Path) -> None:
        """Read casework's bundle: delete what it stored, keep its replies for tipsters."""
        signing, casework = _keys()
        intake = current()
        try:
            payload = read_to_intake(source.read_bytes(), signing, casework)
        except BundleRefused as exc:
            raise click.ClickException(str(exc)) from exc
        # The whole payload's shape was checked: nothing below meets a bad field.
        # Commands first: a registered receipt is there for the replies that follow.
        applied = apply_bundle_commands(intake, payload.commands, payload.commands_as_of)
        if applied is None:
            click.echo("skipped the commands of a bundle older than one already applied",
                       err=True)
        else:
            for command_id, reason in applied.refused:
                # By id and reason code only; casework keeps the command and sends it again.
                click.echo(f"refused command {command_id}: {reason.value}", err=True)
            if applied.applied or applied.refused:
                click.echo(f"applied {len(applied.applied)} commands"
                           + (f", refused {len(applied.refused)}" if applied.refused
                              else ""))
        deleted = acknowledge(intake, payload.acks)
        stored = refused = 0
        for item in payload.pushes:
            try:
                accept_for_tipster(intake, item)
                stored += 1
            except PushRefused as exc:
                # One unstorable reply (e.g. for a receipt deleted here) must not stop the
                # rest; the reason is printed, never content.
                click.echo(f"refused one reply: {exc}", err=True)
                refused += 1
        click.echo(f"deleted {deleted} acknowledged envelopes, stored {stored} replies"
                   + (f", refused {refused}" if refused else ""))
