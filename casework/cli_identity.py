"""``flask --app casework identity ...``: the command line of casework.identity.

``identity escrow-open CASE_REFERENCE --escrow-key FILE`` opens a confidential reporter's
identity with the offline escrow key (casework.identity_escrow). The passphrase is only
ever prompted for (hidden), never an option: an option would land in the shell's history
and the process list. The identity goes to standard output once, after the audit record
of the opening has committed, and never to a log.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import click
from flask import Flask

import crypto

from .identity_escrow import EscrowRefused, recover_identity
from .services import current


def printable(text: str) -> str:
    """``text`` with every control and format character shown as U+FFFD.

    The name and contact are what a tipster typed: an escape sequence in them must not
    drive the operator's terminal (rewrite what is on screen, set its title, ...).
    """
    return "".join("\N{REPLACEMENT CHARACTER}" if unicodedata.category(ch)[0] == "C" else ch
                   for ch in text)


def register(app: Flask) -> None:
    """Attach the ``identity`` command group to ``app``."""

    @app.cli.group("identity")
    def identity() -> None:
        """Confidential reporters' identities (under four eyes; escrow recovery)."""

    @identity.command("escrow-open")
    @click.argument("case_reference")
    @click.option("--escrow-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  required=True, help="The wrapped escrow private key (brought online).")
    def escrow_open(case_reference: str, escrow_key: Path) -> None:
        """Show a case's confidential identity, opened with the escrow key (audited)."""
        passphrase = click.prompt("Escrow key passphrase", hide_input=True, err=True)
        try:
            escrow = crypto.unwrap_private_key(escrow_key.read_bytes(), passphrase)
        except crypto.CryptoError as exc:
            raise click.ClickException("the escrow key does not open with that passphrase") \
                from exc
        try:
            with current().unit() as work:
                found = recover_identity(current(), work.session, case_reference, escrow)
        except EscrowRefused as exc:
            raise click.ClickException(exc.reason) from exc
        # The unit has committed: the opening is in the audit log before anything shows.
        click.echo(f"Name: {printable(found.name)}")
        click.echo(f"Contact: {printable(found.contact)}")
        click.echo("Recorded in the audit log. Take the escrow key offline again.", err=True)
