"""``flask --app casework statistics publish``: publish a release from the command line.

For a scheduled quarterly publication without a browser. The release is made exactly as
the statistician's page makes it (``casework.statistics.releases.publish``), in the name
of a statistician's account, and recorded in the audit log as theirs. The texts stored
with the release (titles, row names) are in the language chosen with ``--language``.
"""

from __future__ import annotations

import click
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from .errors import CaseworkError
from .models import ReleaseKind, User
from .services import current
from .statistics.periods import Period
from .statistics.releases import publish


def register(app: Flask) -> None:
    """Attach the ``statistics`` command group to ``app``."""

    @app.cli.group("statistics")
    def statistics() -> None:
        """KOF's statistics: publish a quarter or a year that has ended."""

    @statistics.command("publish")
    @click.argument("period")
    @click.option("--as", "username", required=True,
                  help="The statistician in whose name the release is published.")
    @click.option("--language", type=click.Choice(["sv", "en"]), default="sv",
                  show_default=True, help="Language of the stored titles and names.")
    def statistics_publish(period: str, username: str, language: str) -> None:
        """Publish PERIOD (e.g. 2026-Q3 or 2026) after disclosure control."""
        services = current()
        # The figures' labels and the messages follow a request's language: a request
        # context gives them one, as the page would.
        with app.test_request_context(), force_locale(language):
            try:
                parsed = Period.parse(period)
            except CaseworkError as exc:
                raise click.ClickException(str(exc.explanation or exc.title)) from exc
            kind = ReleaseKind.QUARTERLY if parsed.kind == "quarter" else ReleaseKind.ANNUAL
            with services.unit() as work:
                user = work.session.scalar(select(User).where(User.username == username))
                if user is None:
                    raise click.ClickException(f"no account named {username!r}")
                try:
                    release = publish(services, work.session, user, kind, parsed)
                except CaseworkError as exc:
                    raise click.ClickException(str(exc.explanation or exc.title)) from exc
                release_id = release.id
        click.echo(f"Published {parsed.label} as release {release_id}.")
