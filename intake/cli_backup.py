"""``flask --app intake backup ...``: what intake's backup holds (common/cli_backup.py).

The database and the envelope store. No file of the instance folder: intake.json is
configuration (its instance_salt must be kept with the deployment's secrets: without the
same salt no receipt signs in again, so the backup records its fingerprint and a restore
refuses an instance configured with another); the signed directory comes again from
casework's `directory export`. docs/backups.md says why.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Connection, select

from common import cli_backup
from common.backup import BackupSource, fingerprint

from .models import DirectoryState, StoredEnvelope
from .services import current


def source() -> BackupSource:
    """What ``backup create`` and ``backup restore`` act on in this instance."""
    config = current().config
    return BackupSource(
        app="intake", database_url=config.database_url, store=config.storage_path,
        public_key=config.backup_public_key,
        fingerprints={"instance_salt": fingerprint(config.instance_salt)},
        # Start-up records the directory it accepted: a fresh target has that row.
        startup_tables=frozenset({DirectoryState.__tablename__}),
        referenced_bodies=_bodies)


def _bodies(connection: Connection) -> set[str]:
    return set(connection.scalars(select(StoredEnvelope.id)))


def register(app: Flask) -> None:
    """Attach the ``backup`` command group."""
    cli_backup.register(app, source)
