"""Air-gap bundles: the bridge's messages carried as files, encrypted and signed.

A bundle is the sealed JSON payload (an ordinary envelope, sealed to the receiving
side's X25519 key, which is derived from its pinned Ed25519 key) inside a sync message
signed by the sender. Someone carrying the file learns nothing from it and cannot alter
it: one changed byte fails the signature. A bundle may be days old when it arrives, so
the age limit is generous; replaying one is harmless, because every import, acknowledgement
and push it carries is idempotent, and intake applies casework's commands only from a
bundle at least as new as the last it applied them from (a replayed registration cannot
bring back a forgotten receipt).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import crypto

from .contract import (
    MAX_COMMANDS,
    BundledTipsterItem,
    CommandItem,
    DocumentPurpose,
    ReplyItem,
    b64,
)
from .sync_schema import (
    MAX_ITEMS,
    MAX_LISTED_REPLIES,
    Check,
    Malformed,
    array,
    base64_bytes,
    hex_id,
    optional_moment,
    parse_json,
    record,
    validate,
)

MAX_AGE_SECONDS = 14 * 24 * 3600
MAX_BUNDLE = 1024 * 1024 * 1024

# The payload of each kind of bundle. Its items are the bridge's own (common.contract),
# in their one wire form (bytes in standard base64), as over HTTP.
BUNDLES: dict[str, Check] = {
    # Intake lists every reply it holds for tipsters (it keeps no record of what casework
    # was told): that list grows with the service, bounded in practice by the bundle size.
    # Likewise every receipt it holds, with the newest command time it applied from a
    # bundle: together they tell casework which of its commands took (a registration's
    # receipt is there, a forgotten one is not). Both are absent in an older intake's
    # bundle: casework then confirms no command.
    DocumentPurpose.BUNDLE_TO_CASEWORK: record({
        "items": array(BundledTipsterItem.from_wire, MAX_ITEMS),
        "tipster_envelopes": array(hex_id, MAX_LISTED_REPLIES)},
        optional={"receipts": array(hex_id, MAX_LISTED_REPLIES),
                  "commands_as_of": optional_moment}),
    # Casework's commands, oldest first, with the newest one's time (its own clock): intake
    # applies them only if no bundle it applied was newer (intake/bridge/commands.py).
    DocumentPurpose.BUNDLE_TO_INTAKE: record(
        {"acks": array(hex_id, MAX_ITEMS), "pushes": array(ReplyItem.from_wire, MAX_ITEMS)},
        optional={"commands": array(CommandItem.from_wire, MAX_COMMANDS),
                  "commands_as_of": optional_moment}),
}


class BundleRefused(Exception):
    """The bundle is forged, altered, stale, for someone else, or malformed."""


@dataclass(frozen=True)
class ToCasework:
    """What intake hands casework in a bundle: envelopes, and the replies it holds."""

    items: list[BundledTipsterItem]
    tipster_envelopes: list[str]
    receipts: list[str] | None = None  # None: intake did not say (an older intake)
    commands_as_of: dt.datetime | None = None


@dataclass(frozen=True)
class ToIntake:
    """What casework hands intake in a bundle: acknowledgements and replies."""

    acks: list[str]
    pushes: list[ReplyItem]
    commands: list[CommandItem] = field(default_factory=list)
    commands_as_of: dt.datetime | None = None


def write_bundle(sender: crypto.SigningKey, receiver: crypto.VerifyKey, purpose: str,
                 payload: dict[str, Any]) -> bytes:
    """Seal ``payload`` to the receiver and sign the result for ``purpose``."""
    sealed = crypto.seal_bytes(json.dumps(payload).encode(), [receiver.box_public_key()],
                               routing={"kind": purpose})
    body = json.dumps({"header": b64(sealed.header), "body": b64(sealed.body)}).encode()
    return crypto.sign_document(sender, purpose=purpose, body=body)


def read_bundle(data: bytes, receiver: crypto.SigningKey, sender: crypto.VerifyKey,
                purpose: str, now: float | None = None) -> dict[str, Any]:
    """Verify, check age, open, check the shape: the payload, or :class:`BundleRefused`.

    The payload is checked against the schema of ``purpose`` as a whole before it is
    returned, so that an importer never stops half way through a malformed bundle (a
    signature says who wrote it, not that it is well formed). It is returned as it came
    (the wire form); :func:`read_to_casework` and :func:`read_to_intake` return it parsed.
    """
    return _read(data, receiver, sender, purpose, now)[0]


def _read(data: bytes, receiver: crypto.SigningKey, sender: crypto.VerifyKey, purpose: str,
          now: float | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload as it came and as checked (items parsed)."""
    try:
        message = crypto.verify_document(sender, data, purpose=purpose, max_body=MAX_BUNDLE)
    except crypto.CryptoError as exc:
        raise BundleRefused(f"the bundle does not verify ({type(exc).__name__})") from exc
    if abs((time.time() if now is None else now) - message.timestamp) > MAX_AGE_SECONDS:
        raise BundleRefused("the bundle is older than 14 days (or from the future)")
    try:
        outer = validate(record({"header": _sealed_part, "body": _sealed_part}),
                         parse_json(message.body), "bundle")
        envelope = crypto.Envelope(outer["header"], outer["body"])
        plaintext, _ = crypto.open_bytes(envelope, receiver.box_private_key())
    except (Malformed, crypto.CryptoError) as exc:
        raise BundleRefused("the bundle cannot be opened with this side's key") from exc
    try:
        payload = parse_json(plaintext)
        schema = BUNDLES.get(purpose)
        checked = validate(schema, payload, "bundle") if schema is not None else None
        if not isinstance(payload, dict):
            raise Malformed("bundle is not an object")
    except Malformed as exc:
        raise BundleRefused(f"the bundle is malformed: {exc}") from exc
    return payload, checked if checked is not None else payload


def _sealed_part(value: object, where: str) -> bytes:
    """The sealed payload's header or body: base64 of at most a bundle's size."""
    checked: bytes = base64_bytes(MAX_BUNDLE)(value, where)
    return checked


def _moment(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def write_to_casework(sender: crypto.SigningKey, receiver: crypto.VerifyKey,
                      items: Sequence[BundledTipsterItem],
                      tipster_envelopes: Sequence[str], *,
                      receipts: Sequence[str] = (),
                      commands_as_of: dt.datetime | None = None) -> bytes:
    """Intake's bundle for casework."""
    return write_bundle(sender, receiver, DocumentPurpose.BUNDLE_TO_CASEWORK,
                        {"items": [item.to_wire() for item in items],
                         "tipster_envelopes": list(tipster_envelopes),
                         "receipts": list(receipts),
                         "commands_as_of": _moment(commands_as_of)})


def read_to_casework(data: bytes, receiver: crypto.SigningKey, sender: crypto.VerifyKey,
                     now: float | None = None) -> ToCasework:
    """Intake's bundle, verified, opened and parsed whole, or :class:`BundleRefused`."""
    checked = _read(data, receiver, sender, DocumentPurpose.BUNDLE_TO_CASEWORK, now)[1]
    return ToCasework(checked["items"], checked["tipster_envelopes"],
                      checked.get("receipts"), checked.get("commands_as_of"))


def write_to_intake(sender: crypto.SigningKey, receiver: crypto.VerifyKey,
                    acks: Sequence[str], pushes: Sequence[ReplyItem], *,
                    commands: Sequence[CommandItem] = (),
                    commands_as_of: dt.datetime | None = None) -> bytes:
    """Casework's bundle for intake."""
    return write_bundle(sender, receiver, DocumentPurpose.BUNDLE_TO_INTAKE,
                        {"acks": list(acks), "pushes": [push.to_wire() for push in pushes],
                         "commands": [command.to_wire() for command in commands],
                         "commands_as_of": _moment(commands_as_of)})


def read_to_intake(data: bytes, receiver: crypto.SigningKey, sender: crypto.VerifyKey,
                   now: float | None = None) -> ToIntake:
    """Casework's bundle, verified, opened and parsed whole, or :class:`BundleRefused`."""
    checked = _read(data, receiver, sender, DocumentPurpose.BUNDLE_TO_INTAKE, now)[1]
    return ToIntake(checked["acks"], checked["pushes"], checked.get("commands", []),
                    checked.get("commands_as_of"))
