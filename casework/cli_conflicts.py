"""``flask --app casework cases rekey-pending --user USERNAME``: rekey every case with a
declared conflict that the person reads.

The rekey needs the reader's private key (it opens each envelope's content key), so the
command asks for their password (never an option: it would stay in the shell's history)
and unwraps their key as sign-in does. Each case is rekeyed in a unit of work of its own:
a case that cannot be rekeyed (not sealed to this reader, a damaged item) is reported and
changes nothing, and the others still go through.
"""

from __future__ import annotations

import getpass

import click
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

import crypto

from .conflicts import rekey_case, rekey_pending_for
from .errors import CaseworkError
from .models import Case, User
from .services import current


def _english(error: CaseworkError) -> str:
    with force_locale("en"):
        return str(error.explanation)


def register(app: Flask) -> None:
    """Add ``rekey-pending`` to the ``cases`` group (made here if no one made it yet)."""
    group = app.cli.commands.get("cases")
    if not isinstance(group, click.Group):
        @app.cli.group("cases")
        def cases() -> None:
            """Cases."""
        group = cases

    @group.command("rekey-pending")
    @click.option("--user", "username", required=True,
                  help="A reader of the cases (asked for their password).")
    def rekey_pending(username: str) -> None:
        """Rekey every case USER reads on which someone declared a conflict of interest."""
        services = current()
        with services.unit() as work:
            person = work.session.scalar(select(User).where(User.username == username))
            if person is None or person.wrapped_key is None or not person.active:
                raise click.ClickException(f"{username} holds no key to rekey with")
            wrapped = person.wrapped_key
            case_ids = rekey_pending_for(work.session, person)
        password = getpass.getpass(f"Password of {username}: ")
        try:
            key = crypto.unwrap_private_key(wrapped, password)
        except crypto.CryptoError as exc:
            raise click.ClickException(
                f"the key of {username} does not open with that password") from exc
        done = failed = 0
        for case_id in case_ids:
            reference = case_id
            try:
                with services.unit() as work:
                    reader = work.session.scalar(select(User).where(User.username == username))
                    case = work.session.get(Case, case_id)
                    reference = case.reference if case is not None else case_id
                    assert reader is not None  # noqa: S101 (found above)
                    result = rekey_case(services, work.session, reader, key, case_id)
            except CaseworkError as exc:
                failed += 1
                click.echo(f"  {reference}: not rekeyed: {_english(exc)}")
                continue
            if result is not None:
                done += 1
                click.echo(f"  {reference}: {result.envelopes} items re-encrypted")
        click.echo(f"Rekeyed {done} cases; {failed} could not be rekeyed by {username}.")
        if failed:
            raise SystemExit(1)
