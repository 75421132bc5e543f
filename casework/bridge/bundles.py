"""Air-gap mode, casework's side: intake's bundle in, the answer bundle out.

The same exchange as the HTTP cycle, as files (``common/bundles.py``): intake's bundle
carries its waiting envelopes (the contract's items, with their bodies), the list of
replies it holds, and the receipts it holds with the newest command time it applied (which
confirm this side's commands); the answer carries acknowledgements, the replies and the
commands waiting here (``casework/bridge/commands.py``).
Every item goes through the same import as over HTTP (a unit of work per item, with the
same events); replaying a bundle is harmless, and tells nothing again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import crypto
from common.bundles import read_to_casework, write_to_intake
from common.contract import MAX_COMMANDS
from common.unit_of_work import emit_on

from ..events import BridgeCycleCompleted
from ..services import Casework
from .commands import confirm_from_bundle, pending_commands
from .imports import Incoming, import_envelopes
from .pushes import mark_delivered, pending_pushes


@dataclass(frozen=True)
class BundleAnswer:
    """What importing a bundle did, and the bundle to carry back to intake."""

    acknowledged: list[str]
    replies: int
    bundle: bytes
    commands: int = 0  # commands for intake in the bundle


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def import_bundle(casework: Casework, data: bytes, *, signing_key: crypto.SigningKey,
                  intake_key: crypto.VerifyKey) -> BundleAnswer:
    """Import intake's bundle; the answer bundle (acknowledgements, waiting replies).

    The bundle is checked whole before anything is imported
    (:class:`common.bundles.BundleRefused`): nothing is half applied.
    """
    payload = read_to_casework(data, signing_key, intake_key)
    mark_delivered(casework, payload.tipster_envelopes)
    confirm_from_bundle(casework, payload.receipts, payload.commands_as_of)
    incoming: list[Incoming] = []
    try:
        for bundled in payload.items:
            path = casework.store.incoming_dir / f"bundle-{bundled.item.envelope_id}"
            _write_private(path, bundled.body)
            incoming.append(Incoming.of(bundled.item, path))
        stored = import_envelopes(casework, incoming)
    finally:
        for entry in incoming:
            entry.body_path.unlink(missing_ok=True)
    pushes = pending_pushes(casework)
    commands, as_of = pending_commands(casework, MAX_COMMANDS)
    answer = BundleAnswer(stored, len(pushes),
                          write_to_intake(signing_key, intake_key, stored, pushes,
                                          commands=commands, commands_as_of=as_of),
                          len(commands))
    # The import's counts for the audit log (each item's unit told of the item itself).
    with casework.unit() as unit:
        emit_on(unit.session, BridgeCycleCompleted("bundle", len(stored), len(stored),
                                                   len(pushes), 0))
    return answer


def export_bundle(casework: Casework, *, signing_key: crypto.SigningKey,
                  intake_key: crypto.VerifyKey) -> tuple[int, bytes]:
    """The replies (and commands) waiting for intake as a bundle: (how many replies, the
    bundle)."""
    pushes = pending_pushes(casework)
    commands, as_of = pending_commands(casework, MAX_COMMANDS)
    return len(pushes), write_to_intake(signing_key, intake_key, [], pushes,
                                        commands=commands, commands_as_of=as_of)
