"""``flask --app casework retention ...``: the command line of casework.retention.

``list`` is the dry run (recorded in the audit log as a review, counts only); ``purge``
purges every due case, each in a unit of work of its own, after a confirmation (or
``--yes``); ``schedule`` queues a purge run every N seconds, on Redis when configured,
else in this process (``casework.retention_jobs``).
"""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask

from .retention import review
from .retention_jobs import enqueue_purge, purge_due, scrub_free_space
from .services import current


def register(app: Flask) -> None:
    """Attach the ``retention`` command group to ``app``."""

    @app.cli.group("retention")
    def retention() -> None:
        """Purging concluded cases when their retention period is over (Act 2021:890)."""

    @retention.command("list")
    def retention_list() -> None:
        """Dry run: the cases due for purging, and those a legal hold pauses."""
        services = current()
        today = dt.datetime.now(dt.UTC).date()
        with services.unit() as work:
            listed = review(work.session, services.config, today)
        for entry in [*listed.due, *listed.held]:
            state = "HELD" if entry.held else "due"
            click.echo(f"{entry.reference}  {entry.unit_id}  concluded "
                       f"{entry.concluded_on.isoformat()}  due {entry.due_on.isoformat()}  "
                       f"{state}")
        click.echo(f"{len(listed.due)} cases due for purging; {len(listed.held)} held.")

    @retention.command("purge")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def retention_purge(yes: bool) -> None:
        """Purge every due case that no legal hold pauses. Irreversible."""
        services = current()
        today = dt.datetime.now(dt.UTC).date()
        with services.unit() as work:
            listed = review(work.session, services.config, today)
        if not listed.due:
            click.echo("Nothing is due for purging.")
            return
        if not yes:
            click.confirm(f"Purge the content of {len(listed.due)} cases for good?",
                          abort=True)
        report = purge_due(services, today)
        for reference in report.purged:
            click.echo(f"  {reference}: purged")
        for reference in report.refused:
            click.echo(f"  {reference}: not purged (held, or the archive copy failed)")
        click.echo(f"Purged {len(report.purged)} cases ({report.envelopes} envelopes); "
                   f"{len(report.refused)} refused.")
        if report.refused:
            raise SystemExit(1)

    @retention.command("scrub")
    def retention_scrub() -> None:
        """Checkpoint (SQLite) or VACUUM (PostgreSQL) again, as after a purge."""
        scrub_free_space(current())
        click.echo("Done.")

    @retention.command("schedule")
    @click.option("--every", default=86_400, show_default=True, type=click.IntRange(min=1),
                  help="Seconds between purge runs.")
    @click.option("--count", default=0, help="Stop after this many (0: run until stopped).")
    def retention_schedule(every: int, count: int) -> None:
        """Queue a purge run every N seconds (to Redis if configured, else run it here)."""
        import time

        services = current()
        done = 0
        while count == 0 or done < count:
            try:
                click.echo(enqueue_purge(services.config.redis_url,
                                         services.config.instance_path))
            except Exception as exc:  # keep scheduling; say what failed (type only)
                click.echo(f"purge run failed: {type(exc).__name__}", err=True)
            done += 1
            if count == 0 or done < count:
                time.sleep(every)
