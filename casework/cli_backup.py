"""``flask --app casework backup ...``: what casework's backup holds (common/cli_backup.py).

The database, the envelope store, and two key files a restore cannot do without:
``totp.key`` (it seals every staff member's TOTP secret; without it every account must
enrol again) and the audit signing seed (the restored log's checkpoints verify only with
it). Not in it: casework.json (configuration; the deployment keeps it), the bridge's
signing key (``signing_key``: made again with `keys signing-init`, pinned anew in intake;
leaving it out keeps a stolen backup key from signing a directory that intake would
trust) and the audit head file, which is written afresh from the restored log's newest
checkpoint, so that it names the head the backup holds. docs/backups.md says why.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Connection, select

from common import cli_backup
from common.backup import BackupSource

from .audit import checkpoints
from .audit.verify import verify_database
from .models import AuditCheckpoint, CaseEnvelope
from .services import Casework, current


def source() -> BackupSource:
    """What ``backup create`` and ``backup restore`` act on in this instance."""
    services = current()
    config = services.config
    return BackupSource(
        app="casework", database_url=config.database_url, store=config.storage,
        public_key=config.backup_public_key,
        instance_files={"totp.key": config.totp_key_file,
                        "audit-signing.seed": config.audit_signing_key_file},
        referenced_bodies=_bodies, after_restore=lambda: after_restore(services))


def _bodies(connection: Connection) -> set[str]:
    return {CaseEnvelope(id=envelope_id, generation=generation).body_name
            for envelope_id, generation in connection.execute(
                select(CaseEnvelope.id, CaseEnvelope.generation))}


def after_restore(services: Casework) -> list[str]:
    """Write the head file from the restored log's newest checkpoint, then verify the log."""
    config = services.config
    with services.db.session() as session:
        row = session.scalars(select(AuditCheckpoint)
                              .order_by(AuditCheckpoint.seq.desc()).limit(1)).first()
        signed = None if row is None else checkpoints.SignedHead(
            row.seq, bytes(row.hash), bytes(row.signature), bytes.fromhex(row.key_id),
            row.signed_at)
    if signed is not None:
        # Never backwards: a head file this host kept from a later state stays, and
        # verify then says which entries the backup does not have.
        checkpoints.write_head_file(config.audit_head_file, signed)
    key = checkpoints.load_signing_key(config.audit_signing_key_file).verify_key
    verdict = verify_database(services.db, key, config.audit_head_file)
    if verdict.problem is not None:
        return [f"AUDIT LOG NOT INTACT after the restore: {verdict.problem}"]
    return [f"Audit log intact: {verdict.entries} entries, {verdict.checkpoints} signed "
            f"checkpoints, audit signing key {key.raw.hex()} (compare it with a published "
            "head's verify_key)."]


def register(app: Flask) -> None:
    """Attach the ``backup`` command group."""
    cli_backup.register(app, source)
