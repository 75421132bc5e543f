"""``flask --app casework backup ...``: what casework's backup holds (common/cli_backup.py).

The database, the envelope store, and two key files a restore cannot do without:
``totp.key`` (it seals every staff member's TOTP secret; without it every account must
enrol again) and the audit signing seed (the restored log's checkpoints verify only with
it). Not in it: casework.json (configuration; the deployment keeps it), the bridge's
signing key (``signing_key``: made again with `keys signing-init`, pinned anew in intake;
leaving it out keeps a stolen backup key from signing a directory that intake would
trust) and the audit head file, which is written afresh from the restored log's newest
checkpoint, so that it names the head the backup holds. docs/backups.md says why.

Both commands are in the audit log, named by the sealed file's size and SHA-256 (never a
key or a word of content): ``backup_created`` once the file is written (if that entry
cannot be written the file is removed), ``backup_restored`` as the first entry after the
restored log's own, chained and signed like any other, before the log is verified.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

import crypto
from common import cli_backup
from common.backup import BackupSource, Summary
from common.unit_of_work import DomainEvent, emit_on

from .audit import checkpoints
from .audit.verify import verify_database
from .events import BackupCreated, BackupRestored
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
        referenced_bodies=_bodies, after_create=lambda summary: after_create(services, summary),
        after_restore=lambda summary: after_restore(services, summary))


def _bodies(connection: Connection) -> set[str]:
    return {CaseEnvelope(id=envelope_id, generation=generation).body_name
            for envelope_id, generation in connection.execute(
                select(CaseEnvelope.id, CaseEnvelope.generation))}


def _record(services: Casework, event: DomainEvent) -> None:
    """One unit of work that appends ``event``'s entry (and signs its checkpoint)."""
    with services.unit() as unit:
        emit_on(unit.session, event)


def after_create(services: Casework, summary: Summary) -> list[str]:
    """Append ``backup_created``: the sealed file's size and hash, what it holds."""
    assert summary.sealed is not None  # noqa: S101 (create_backup always sets it)
    _record(services, BackupCreated(
        "backup create", summary.sealed.size, summary.sealed.sha256, len(summary.tables),
        sum(summary.tables.values()), len(summary.files)))
    return ["recorded in the audit log (backup_created, with the file's SHA-256)"]


def after_restore(services: Casework, summary: Summary) -> list[str]:
    """Write the head file from the restored log's newest checkpoint, append
    ``backup_restored`` to the restored log, then verify it."""
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
    notes = []
    assert summary.sealed is not None  # noqa: S101 (restore_backup always sets it)
    try:
        # Signed with the restored signing seed (read at the commit), so the chain and
        # its checkpoints go on from the backup's head as if nothing had happened between.
        _record(services, BackupRestored("backup restore", summary.sealed.size,
                                         summary.sealed.sha256))
    except (SQLAlchemyError, OSError, crypto.CryptoError) as exc:
        # The rows are in and committed; say so loudly rather than claim nothing happened.
        notes.append(f"THE RESTORE IS NOT IN THE AUDIT LOG: its entry could not be written "
                     f"({type(exc).__name__})")
    key = checkpoints.load_signing_key(config.audit_signing_key_file).verify_key
    verdict = verify_database(services.db, key, config.audit_head_file)
    if verdict.problem is not None:
        return [*notes, f"AUDIT LOG NOT INTACT after the restore: {verdict.problem}"]
    return [*notes, f"Audit log intact: {verdict.entries} entries, {verdict.checkpoints} signed "
            f"checkpoints, audit signing key {key.raw.hex()} (compare it with a published "
            "head's verify_key)."]


def register(app: Flask) -> None:
    """Attach the ``backup`` command group."""
    cli_backup.register(app, source)
