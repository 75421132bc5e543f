"""``flask --app casework deadlines ...``: reminder e-mails about the legal deadlines.

``remind`` runs once now (``--dry-run``: count what is due and whom it would tell,
send and record nothing). ``schedule`` queues a run every N seconds on Redis'
``lykta-mail`` queue (any ``jobs worker`` runs it), or runs it in this process without
Redis, like the bridge's ``schedule``; ``jobs schedule`` queues it hourly.
"""

from __future__ import annotations

import time

import click
from flask import Flask

from .services import current

OFF = "Reminders are off: casework.json has no smtp_host."


def register(app: Flask) -> None:
    """Attach the ``deadlines`` command group to ``app``."""

    @app.cli.group("deadlines")
    def deadlines() -> None:
        """The acknowledgement and feedback deadlines: reminder e-mails."""

    @deadlines.command("remind")
    @click.option("--dry-run", is_flag=True, help="Count what is due; send and record nothing.")
    def remind(dry_run: bool) -> None:
        """Send the reminders due today (one e-mail per person, counts and links only)."""
        from .reminders import send_reminders

        run = send_reminders(current(), dry_run=dry_run)
        if not run.enabled:
            click.echo(OFF)
            return
        if run.dry_run:
            click.echo(f"due: {run.due} deadlines of {run.cases} cases; would send "
                       f"{run.messages} e-mails")
        else:
            click.echo(f"sent {run.messages} e-mails about {run.cases} cases; "
                       f"{run.failed} failed (tried again next run)")
        if run.unreachable:
            click.echo(f"{run.unreachable} due deadlines have no one to tell: set the "
                       "e-mail addresses of the unit leads (admin, People).")

    @deadlines.command("schedule")
    @click.option("--every", default=3600, show_default=True, help="Seconds between runs.")
    @click.option("--count", default=0, help="Stop after this many (0: run until stopped).")
    def schedule(every: int, count: int) -> None:
        """Queue a reminder run every N seconds (to Redis if configured, else run it here)."""
        from .reminders import enqueue_reminders

        services = current()
        if not services.config.smtp_host:
            click.echo(OFF)
        done = 0
        while count == 0 or done < count:
            try:
                click.echo(enqueue_reminders(services.config.redis_url,
                                             services.config.instance_path))
            except Exception as exc:  # keep scheduling; say what failed (type only)
                click.echo(f"reminder run failed: {type(exc).__name__}", err=True)
            done += 1
            if count == 0 or done < count:
                time.sleep(every)
