"""``flask --app casework jobs worker|schedule``: the processes systemd keeps running.

``jobs worker`` is an rq worker on the named queues (all three by default), with rq's own
scheduler inside, which puts a job whose retry is due back on its queue; rq lets one
worker per queue do that at a time. ``jobs schedule`` is :class:`.schedule.Scheduler`.
"""

from __future__ import annotations

import logging
import re
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app

from ..services import current
from .queues import QUEUES, connect
from .schedule import Queued, Scheduler
from .work import preload

if TYPE_CHECKING:
    from redis import Redis
    from rq import Queue, Worker
    from rq.job import Job

log = logging.getLogger("lykta.casework.jobs")

NO_REDIS = ("background workers need redis_url (LYKTA_REDIS_URL): without Redis, "
            "`flask --app casework jobs schedule` runs every job in its own process")


def quiet_worker(queues: list[Queue], connection: Redis, name: str | None) -> Worker:
    """An rq worker whose log names a failed job's exception by its class only.

    rq's own handler logs the whole traceback with the message and the job's arguments,
    any of which may name a case or a path; the journal is read by more people than the
    casework database. The traceback stays in Redis (rq keeps it with the job) for
    those who may read Redis; the failed-job page shows the class only too.
    """
    from rq import Worker

    class QuietWorker(Worker):
        def handle_exception(self, job: Job, *exc_info: Any) -> None:
            exc_type = exc_info[0] if exc_info else None
            name = exc_type.__name__ if isinstance(exc_type, type) else "Exception"
            self.log.error("Worker %s: job %s (%s, %s) raised %s", self.name, job.id,
                           job.origin, job.description, name)

    return QuietWorker(queues, connection=connection, name=name)


def parse_queues(listed: str) -> list[str]:
    """``bridge:mail`` -> the two queues' names; a number (``lykta-worker@2``) or nothing
    -> [] (all). ValueError for a name that is no queue."""
    if not listed or listed.isdigit():
        return []
    names = []
    for word in re.split(r"[:,]", listed):
        name = word if word.startswith("lykta-") else f"lykta-{word}"
        if name not in QUEUES:
            raise ValueError(f"no queue {word!r}: the queues are {', '.join(QUEUES)}")
        names.append(name)
    return names


def register(app: Flask) -> None:
    """Attach the ``jobs`` group to ``app``."""

    @app.cli.group("jobs")
    def jobs() -> None:
        """Background jobs: rq workers and the scheduler."""

    @jobs.command("worker")
    @click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUES),
                  help="A queue to work on (repeatable; default: all of them).")
    @click.option("--queues", "listed", default="",
                  help="Queues as one word, as a systemd instance names them: "
                       "'bridge:mail' (short names, ':' or ',' between), or a number: all.")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    @click.option("--name", default=None, help="The worker's name (default: rq's).")
    def worker(queues: tuple[str, ...], listed: str, burst: bool, name: str | None) -> None:
        """Run an rq worker on the named queues (needs redis_url)."""
        from rq import Queue

        url = current().config.redis_url
        if not url:
            raise click.ClickException(NO_REDIS)
        preload(current_app._get_current_object())  # type: ignore[attr-defined]
        try:
            names = list(dict.fromkeys([*queues, *parse_queues(listed)])) or list(QUEUES)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--queues") from exc
        connection = connect(url)
        chosen = [Queue(q, connection=connection) for q in names]
        quiet_worker(chosen, connection, name).work(burst=burst, with_scheduler=True,
                                                    logging_level="INFO")

    @jobs.command("schedule")
    @click.option("--once", is_flag=True, help="One tick, then stop.")
    def schedule(once: bool) -> None:
        """Queue the bridge cycle, reminders, the session sweep and the purge on time
        (with Redis: one leader across machines; without: run them here)."""
        config = current().config
        if not config.redis_url:
            click.echo("no redis_url: the jobs run in this process")
            preload(current_app._get_current_object())  # type: ignore[attr-defined]

        def report(done: Queued) -> None:
            click.echo(f"{done.kind} (slot {done.slot}): {done.outcome}")

        def stop(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(0)  # through run()'s finally: the lead is released at once

        signal.signal(signal.SIGTERM, stop)
        Scheduler(config).run(once=once, report=report)
