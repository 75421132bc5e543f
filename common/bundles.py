"""Air-gap bundles: the bridge's messages carried as files, encrypted and signed.

A bundle is the sealed JSON payload (an ordinary envelope, sealed to the receiving
side's X25519 key, which is derived from its pinned Ed25519 key) inside a sync message
signed by the sender. Someone carrying the file learns nothing from it and cannot alter
it: one changed byte fails the signature. A bundle may be days old when it arrives, so
the age limit is generous; replaying one is harmless, because every import, acknowledgement
and push it carries is idempotent.
"""

from __future__ import annotations

import json
import time
from typing import Any

import crypto

from .sync_schema import BUNDLES, Malformed, parse_json, validate

MAX_AGE_SECONDS = 14 * 24 * 3600
MAX_BUNDLE = 1024 * 1024 * 1024


class BundleRefused(Exception):
    """The bundle is forged, altered, stale, for someone else, or malformed."""


def write_bundle(sender: crypto.SigningKey, receiver: crypto.VerifyKey, purpose: str,
                 payload: dict[str, Any]) -> bytes:
    """Seal ``payload`` to the receiver and sign the result for ``purpose``."""
    sealed = crypto.seal_bytes(json.dumps(payload).encode(), [receiver.box_public_key()],
                               routing={"kind": purpose})
    body = json.dumps({"header": sealed.header.hex(), "body": sealed.body.hex()}).encode()
    return crypto.sign_document(sender, purpose=purpose, body=body)


def read_bundle(data: bytes, receiver: crypto.SigningKey, sender: crypto.VerifyKey,
                purpose: str, now: float | None = None) -> dict[str, Any]:
    """Verify, check age, open, check the shape: the payload, or :class:`BundleRefused`.

    The payload is checked against the schema of ``purpose`` as a whole before it is
    returned, so that an importer never stops half way through a malformed bundle (a
    signature says who wrote it, not that it is well formed). It is returned as it came
    (ids and hex strings), so callers may convert fields without re-checking them.
    """
    try:
        message = crypto.verify_document(sender, data, purpose=purpose, max_body=MAX_BUNDLE)
    except crypto.CryptoError as exc:
        raise BundleRefused(f"the bundle does not verify ({type(exc).__name__})") from exc
    if abs((time.time() if now is None else now) - message.timestamp) > MAX_AGE_SECONDS:
        raise BundleRefused("the bundle is older than 14 days (or from the future)")
    try:
        outer = json.loads(message.body)
        envelope = crypto.Envelope(bytes.fromhex(outer["header"]), bytes.fromhex(outer["body"]))
        plaintext, _ = crypto.open_bytes(envelope, receiver.box_private_key())
    except (ValueError, KeyError, TypeError, RecursionError, crypto.CryptoError) as exc:
        raise BundleRefused("the bundle cannot be opened with this side's key") from exc
    try:
        payload = parse_json(plaintext)
        schema = BUNDLES.get(purpose)
        if schema is not None:
            validate(schema, payload, "bundle")
        if not isinstance(payload, dict):
            raise Malformed("bundle is not an object")
    except Malformed as exc:
        raise BundleRefused(f"the bundle is malformed: {exc}") from exc
    checked: dict[str, Any] = payload
    return checked
