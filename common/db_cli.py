"""``flask --app intake|casework db upgrade|current``: the database's migrations by hand.

Each app also migrates at start-up (``create_app``, under a lock), so a single machine
needs neither command. With several nodes, or a deploy that should fail before traffic
moves, an operator (or a systemd ``ExecStartPre=``) runs ``db upgrade`` once; on
PostgreSQL concurrent runs wait for each other (common.migrate's advisory lock).

Output names revisions only, never the database URL: it can hold a password.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import Flask

from .migrate import Environment


def _describe(revisions: frozenset[str], heads: frozenset[str]) -> str:
    if not revisions:
        return "no revision (the database was never migrated)"
    state = "head" if revisions == heads else "behind head " + ", ".join(sorted(heads))
    return f"{', '.join(sorted(revisions))} ({state})"


def register(app: Flask, environment: Environment, database_url: Callable[[], str]) -> None:
    """Attach the ``db`` group to ``app``; ``database_url`` gives the app's database."""

    @app.cli.group("db")
    def db() -> None:
        """The database's schema (Alembic migrations)."""

    @db.command("upgrade")
    def upgrade() -> None:
        """Migrate the database to the newest revision; print the revision it is at."""
        url = database_url()
        environment.upgrade(url)
        click.echo(_describe(environment.current(url), environment.heads()))

    @db.command("current")
    def current() -> None:
        """Print the revision the database is at (and whether that is the newest)."""
        revisions, heads = environment.current(database_url()), environment.heads()
        click.echo(_describe(revisions, heads))
        if revisions != heads:
            raise click.exceptions.Exit(1)
