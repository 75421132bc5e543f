"""The archive copy a purge writes first, when ``archive_path`` is set.

Reports are official records (allmänna handlingar): the authority's archiving rules
(arkivlagen, and the gallringsbeslut the archive authority gave it) decide whether they are
kept after casework purges them. If they are, the purge first copies each envelope of the
case, still sealed, into ``archive_path/<reference>/``: ``<id>.header``, ``<id>.body`` and a
``manifest.json`` of ids, kinds and dates. Nothing is decrypted on the way: opening the
copy takes a reader's or the escrow key, as it did in casework (docs/retention.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
from pathlib import Path

from common.storage import EnvelopeStore

from .models import Case, CaseEnvelope

log = logging.getLogger("lykta.casework.retention")

# A reference as casework makes them ("LY-" and letters); anything else is not used as a
# folder name in the archive (the case id is).
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary name, then a rename)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def archive_case(store: EnvelopeStore, case: Case, envelopes: list[CaseEnvelope],
                 root: Path, today: dt.date) -> Path:
    """Copy the case's envelopes, still sealed, to ``root/<reference>/`` with a manifest.

    Each envelope is ``<id>.header`` and ``<id>.body`` (the body as stored); the manifest
    (written last, so a folder with one is complete) names ids, kinds and dates only.
    Writing again over a copy left by a purge that did not commit is harmless.
    """
    name = case.reference if _REFERENCE.fullmatch(case.reference) else case.id
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    listed = []
    for envelope in envelopes:
        _write_private(folder / f"{envelope.id}.header", envelope.header)
        try:
            with store.open(envelope.body_name) as body:
                data = body.read()
        except FileNotFoundError:
            log.warning("an envelope's body was missing when archived")
            data = None
        if data is not None:
            _write_private(folder / f"{envelope.id}.body", data)
        listed.append({"id": envelope.id, "kind": envelope.kind, "origin": envelope.origin,
                       "created_at": envelope.created_at.isoformat(),
                       "body": data is not None})
    manifest = {"case_id": case.id, "reference": case.reference, "unit_id": case.unit_id,
                "category": case.category, "received_on": case.received_on.isoformat(),
                "concluded_on": case.concluded_on.isoformat() if case.concluded_on else None,
                "outcome": case.outcome, "archived_on": today.isoformat(),
                "envelopes": listed}
    _write_private(folder / "manifest.json",
                   json.dumps(manifest, indent=2, sort_keys=True).encode())
    return folder
