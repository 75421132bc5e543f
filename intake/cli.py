"""``flask --app intake ...``: the operator's view of the bridge."""

from __future__ import annotations

import click
from flask import Flask

from .models import SyncState
from .services import current


def register(app: Flask) -> None:
    """Attach the command groups to ``app``."""

    @app.cli.group("bridge")
    def bridge() -> None:
        """The bridge to casework (casework always connects here, never the reverse)."""

    @bridge.command("status")
    def status() -> None:
        """When casework last made a verified sync request."""
        with current().db.session() as session:
            state = session.get(SyncState, "last_request")
            click.echo("last verified sync request: "
                       f"{state.at.isoformat() + ' UTC' if state else 'never'}")
