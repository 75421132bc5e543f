"""``flask --app casework cases ...`` (issue 10): the bulk handover from the command line.

The handover needs the acting lead's private key (it opens each case's content keys), so
the command asks for the lead's password (never an option: it would stay in the shell's
history) and unwraps their key as sign-in does. It runs in one unit of work: every case
that may be handed over is, or (on an error) none; the cases skipped are printed with
their reasons.
"""

from __future__ import annotations

import getpass

import click
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto

from .errors import CaseworkError
from .handover import hand_over
from .models import User
from .services import current

# The command line's words for casework.handover.SKIP_REASONS (English, as all the CLI).
SKIP_REASONS = {
    "excluded": "the tipster left the receiver out",
    "not-a-reader": "the receiver does not read in the case's unit",
    "inactive": "the receiver's account is closed",
    "key-awaits-approval": "the receiver's key awaits approval (keys approve)",
    "conflict": "the receiver declared a conflict of interest on the case",
    "unreadable": "the lead cannot read the case",
    "tampered": "the case's reader list failed its check (tell the security officer)",
}


def _english(error: CaseworkError) -> str:
    """A domain error's message for the command line: in English, outside any request."""
    with force_locale("en"):
        return str(error.explanation)


def _user(session: Session, username: str) -> User:
    person = session.scalar(select(User).where(User.username == username))
    if person is None:
        raise click.ClickException(f"there is no user {username!r}")
    return person


def register(app: Flask) -> None:
    """Attach the ``cases`` command group to ``app``."""

    @app.cli.group("cases")
    def cases() -> None:
        """Cases: bulk handover."""

    @cases.command("handover")
    @click.argument("from_username")
    @click.argument("to_username")
    @click.option("--lead", "lead_username", required=True,
                  help="The unit lead who hands the cases over (asked for their password).")
    def handover(from_username: str, to_username: str, lead_username: str) -> None:
        """Hand every case assigned to FROM_USERNAME (in the lead's units) to TO_USERNAME."""
        services = current()
        password = getpass.getpass(f"Password of {lead_username}: ")
        try:
            with services.unit() as work:
                session = work.session
                lead = _user(session, lead_username)
                giver = _user(session, from_username)
                receiver = _user(session, to_username)
                if lead.wrapped_key is None or not lead.active:
                    raise click.ClickException(f"{lead_username} holds no key to hand over with")
                try:
                    key = crypto.unwrap_private_key(lead.wrapped_key, password)
                except crypto.CryptoError as exc:
                    raise click.ClickException(
                        f"the key of {lead_username} does not open with that password") from exc
                result = hand_over(services, session, lead, key, giver.id, receiver.id)
        except CaseworkError as exc:
            raise click.ClickException(_english(exc)) from exc
        click.echo(f"Handed over {len(result.handed_over)} cases from {from_username} "
                   f"to {to_username}.")
        for reference in result.handed_over:
            click.echo(f"  {reference}")
        if result.skipped:
            click.echo(f"Not handed over ({len(result.skipped)}; they stay with "
                       f"{from_username}):")
            for skipped in result.skipped:
                reason = SKIP_REASONS.get(skipped.reason, skipped.reason)
                click.echo(f"  {skipped.reference}: {reason}")
