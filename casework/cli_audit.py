"""``flask --app casework audit ...``: verify the log, print its signed head, export it.

``audit verify`` exits 1 and names the first bad entry when anything is wrong (docs/audit.md
says what each message means). ``audit head`` prints the newest signed head as JSON, for
publication (the quarterly report prints it): anyone holding it can later show that the
log still reaches it. ``audit export`` writes the log, or a filtered part, as CSV or JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

import crypto

from .audit import browse, chain, checkpoints
from .audit.verify import verify_database
from .models import AuditCheckpoint
from .services import current


def _verify_key() -> crypto.VerifyKey:
    path = current().config.audit_signing_key_file
    try:
        return checkpoints.load_signing_key(path).verify_key
    except (OSError, crypto.CryptoError) as exc:
        raise click.ClickException(f"the audit signing key at {path} cannot be read") \
            from exc


def register(app: Flask) -> None:
    """Attach the ``audit`` command group to ``app``."""

    @app.cli.group("audit")
    def audit() -> None:
        """The tamper-evident audit log."""

    @audit.command("verify")
    @click.option("--batch", default=5000, show_default=True,
                  help="Entries read per transaction.")
    def audit_verify(batch: int) -> None:
        """Check every entry, every checkpoint and the head file; name the first problem."""
        services = current()
        verdict = verify_database(services.db, _verify_key(), services.config.audit_head_file,
                                  batch=max(1, batch))
        if verdict.problem is not None:
            click.echo(f"AUDIT LOG NOT INTACT: {verdict.problem}", err=True)
            click.echo(f"(checked {verdict.entries} entries and {verdict.checkpoints} "
                       "checkpoints before it)", err=True)
            sys.exit(1)
        file_note = (f"; the head file names entry {verdict.head_file.seq}"
                     if verdict.head_file else "; no head file yet")
        click.echo(f"Audit log intact: {verdict.entries} entries, {verdict.checkpoints} "
                   f"signed checkpoints, head {verdict.head.seq} "
                   f"{verdict.head.hash.hex()}{file_note}.")

    @audit.command("head")
    def audit_head() -> None:
        """Print the newest signed head (JSON) for publication."""
        services = current()
        key = _verify_key()
        with services.db.session() as session:
            head = chain.read_head(session)
            row = session.scalars(select(AuditCheckpoint)
                                  .order_by(AuditCheckpoint.seq.desc()).limit(1)).first()
            signed = None if row is None else checkpoints.SignedHead(
                row.seq, bytes(row.hash), bytes(row.signature), bytes.fromhex(row.key_id),
                row.signed_at)
        if head.seq == 0:
            # Nothing logged yet: the empty chain's head, signed now (not stored).
            signed = checkpoints.sign_head(
                checkpoints.load_signing_key(services.config.audit_signing_key_file), head)
        if signed is None or signed.seq != head.seq or signed.hash != head.hash \
                or signed.verify_key != key.raw \
                or not checkpoints.signature_holds(key, signed.seq, signed.hash,
                                                   signed.signature):
            raise click.ClickException("the newest entry has no valid signed checkpoint: "
                                       "run `flask --app casework audit verify`")
        click.echo(json.dumps(signed.to_json(), indent=2, sort_keys=True))

    @audit.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
                  show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="File to write (default: standard output).")
    @click.option("--case", default=None, help="A case's reference or id.")
    @click.option("--person", default=None, help="An actor's user id.")
    @click.option("--action", default=None, help="An action code, e.g. case_read.")
    @click.option("--since", default=None, help="First day (YYYY-MM-DD, UTC).")
    @click.option("--until", default=None, help="Last day (YYYY-MM-DD, UTC).")
    @click.option("--text", default=None, help="Text in the action, ids or details.")
    def audit_export(fmt: str, out: Path | None, case: str | None, person: str | None,
                     action: str | None, since: str | None, until: str | None,
                     text: str | None) -> None:
        """Write the log (or the entries matching the filters) as CSV or JSON."""
        raw = {"case": case, "person": person, "action": action, "since": since,
               "until": until, "text": text}
        try:
            wanted = browse.Filter.parse({k: v for k, v in raw.items() if v})
        except browse.BadFilter as exc:
            raise click.ClickException(f"--{exc.field}: not a valid value") from exc
        rows = browse.stream(current().db, wanted)
        chunks = browse.as_csv(rows) if fmt == "csv" else browse.as_json(rows)
        if out is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
            return
        with out.open("w", encoding="utf-8", newline="") as file:
            for chunk in chunks:
                file.write(chunk)
        click.echo(f"Audit log written to {out}.")
