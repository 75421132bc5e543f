"""The purge as a job: every due case purged in a unit of work of its own, then the
database's free space scrubbed.

Production runs ``flask --app casework jobs schedule``, which queues a purge daily on the
``lykta-maintenance`` rq queue for any ``jobs worker``; without Redis the job runs in the
scheduling process, like the bridge's cycle (``casework.jobs``).

Deleting a row is not enough for "gone from the database". What each engine needs:

* **SQLite.** ``PRAGMA secure_delete`` (``common.db``) zeroes a deleted row's bytes in its
  page; in WAL mode that page reaches the database file at the next checkpoint, and older
  frames of the WAL still hold the row until the WAL is reset. So after a purge the job
  checkpoints with ``TRUNCATE``: the file is written back and the WAL emptied.
* **PostgreSQL.** A deleted row stays in its page as a dead tuple until ``VACUUM`` prunes
  it; the job runs ``VACUUM`` on the envelope table (outside a transaction, which VACUUM
  requires). The space is then free for reuse, not overwritten at once; the server's WAL
  and any backups keep old pages for their own lifetimes (docs/retention.md).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import CaseworkError
from .models import Case
from .services import Casework

log = logging.getLogger("lykta.casework.retention")


@dataclass
class PurgeReport:
    """What one purge run did (references only: they are what staff quote)."""

    purged: list[str] = field(default_factory=list)
    envelopes: int = 0
    refused: list[str] = field(default_factory=list)


def purge_due(casework: Casework, today: dt.date | None = None) -> PurgeReport:
    """Purge every case due today (holds skipped), each in a unit of work of its own.

    A case that cannot be purged (a hold placed meanwhile, an archive copy that failed) is
    reported and left whole; the others still go through.
    """
    from .retention import due_for_purge, purge_case

    today = today or dt.datetime.now(dt.UTC).date()
    with casework.db.session() as session:
        due = due_for_purge(session, casework.config, today).due
    report = PurgeReport()
    for entry in due:
        try:
            with casework.unit() as work:
                case = work.session.get(Case, entry.case_id)
                removed = purge_case(casework, work.session, case, today) \
                    if case is not None else None
        except (CaseworkError, OSError) as exc:
            # The type only: an OSError's message names a path in the archive.
            log.warning("case %s was not purged: %s", entry.reference, type(exc).__name__)
            report.refused.append(entry.reference)
            continue
        if removed is not None:
            report.purged.append(entry.reference)
            report.envelopes += removed
    if report.purged:
        scrub_free_space(casework)
    return report


def scrub_free_space(casework: Casework) -> None:
    """Make deleted rows' bytes leave the database files (see the module's docstring)."""
    engine = casework.db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        if busy is not None and busy[0]:
            # A reader held an old snapshot: the next run's checkpoint finishes the job.
            log.warning("the WAL could not be emptied after a purge (a reader was busy)")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM case_envelopes")


def purge_job(instance_path: str | None = None) -> dict[str, Any]:
    """One purge run for the casework instance at ``instance_path`` (rq job)."""
    from .jobs.work import app_for
    from .services import EXTENSION

    app = app_for(instance_path)
    with app.app_context():
        return asdict(purge_due(app.extensions[EXTENSION]))


def enqueue_purge(redis_url: str | None, instance_path: Path) -> str:
    """Queue one purge run on ``lykta-maintenance`` (returns the job id), or run it now
    without Redis."""
    from .jobs import PURGE, enqueue

    return enqueue(redis_url, PURGE, instance_path)
