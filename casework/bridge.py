"""The bridge's casework side: pull, fetch, acknowledge, push, over signed HTTP.

Casework opens every connection; intake never connects here. Each request is signed
with casework's Ed25519 key and each response must verify under intake's pinned key
and answer this request's nonce, so a response cannot be forged, replayed or passed off
for another request. Import is idempotent and acknowledgement comes only after the
envelopes are committed here, so a crash at any step loses nothing and duplicates
nothing (delivery is at-least-once; duplicates are recognised by envelope id).

Intake is trusted for delivery only (threat-model.md, 6.11): every answer is checked
against its schema (common/sync_schema.py) before it is used, and every item is imported
as the tipster's, whatever it claims (casework/intake_import.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crypto
from common.sync_schema import MAX_BODY, PULL_ITEM, RESPONSES, Malformed, parse_json, validate

from .intake_import import Incoming, import_from_intake, mark_delivered, pending_pushes
from .models import BridgeState
from .models.base import utcnow
from .services import Casework

SIGNATURE_HEADER = "Lykta-Signed"
log = logging.getLogger("lykta.casework.bridge")
MAX_RESPONSE = 32 * 1024 * 1024  # a pull or push answer; bodies are streamed separately


class BridgeError(Exception):
    """A sync step failed; the message says which (never content)."""


class BodyTooLarge(BridgeError):
    """One envelope is larger than this side accepts; the others still go through."""


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did."""

    imported: int
    acknowledged: int
    pushed: int


class IntakeClient:
    """Signed requests to intake's sync app."""

    def __init__(self, url: str, signing_key: crypto.SigningKey,
                 intake_key: crypto.VerifyKey, timeout: float = 60.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise BridgeError("the intake sync URL must be http(s)")
        self._url = url.rstrip("/")
        self._key = signing_key
        self._intake = intake_key
        self._timeout = timeout

    def _post(self, purpose: str, body: dict[str, Any]) -> tuple[Any, bytes]:
        nonce = secrets.token_bytes(crypto.signing.NONCE_BYTES)
        message = crypto.sign_message(self._key, purpose=purpose,
                                      body=json.dumps(body).encode(), nonce=nonce)
        request = urllib.request.Request(f"{self._url}/v1/{purpose}", data=message,  # noqa: S310 (scheme checked above)
                                         method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        try:
            response = urllib.request.urlopen(request, timeout=self._timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raise BridgeError(f"intake refused the {purpose} request ({exc.code})") from exc
        except OSError as exc:
            raise BridgeError(f"intake is unreachable for {purpose}") from exc
        return response, nonce

    def _call(self, purpose: str, body: dict[str, Any]) -> dict[str, Any]:
        response, nonce = self._post(purpose, body)
        with response:
            data = response.read(MAX_RESPONSE + 1)
        if len(data) > MAX_RESPONSE:
            raise BridgeError(f"the {purpose} answer is too large")
        try:
            verified = crypto.verify_message(
                self._intake, data, purpose=f"{purpose}-response", in_reply_to=nonce,
                replay_cache=crypto.MemoryReplayCache(max_entries=1), max_body=MAX_RESPONSE)
        except crypto.SyncMessageError as exc:
            raise BridgeError(f"the {purpose} answer did not verify: "
                              f"{type(exc).__name__}") from exc
        try:
            # Checked whole against the answer's schema: a signature from intake says the
            # answer is intake's, not that it is well formed (intake may be compromised).
            return validate(RESPONSES[purpose], parse_json(verified.body), f"{purpose} answer")
        except Malformed as exc:
            raise BridgeError(f"the {purpose} answer is malformed: {exc}") from exc

    def pull(self, batch: int) -> list[Any]:
        """Envelopes waiting at intake (metadata and headers; bodies come by fetch).

        Each item is still unchecked (``PULL_ITEM``): one bad item must not hold up the
        rest. More items than asked for is refused whole.
        """
        items: list[Any] = self._call("pull", {"batch": batch})["items"]
        if len(items) > batch:
            raise BridgeError(f"the pull answer has {len(items)} items for a batch of {batch}")
        return items

    def fetch(self, envelope_id: str, into: Path) -> None:
        """Stream one body into ``into``, checking size and digest from a signed header."""
        response, nonce = self._post("fetch", {"envelope_id": envelope_id})
        with response:
            try:
                signed = base64.b64decode(response.headers.get(SIGNATURE_HEADER, ""),
                                          validate=True)
                body = crypto.verify_message(
                    self._intake, signed, purpose="fetch-response", in_reply_to=nonce,
                    replay_cache=crypto.MemoryReplayCache(max_entries=1)).body
            except (ValueError, crypto.SyncMessageError) as exc:
                raise BridgeError("the fetched body's signature did not verify") from exc
            try:
                facts = validate(RESPONSES["fetch"], parse_json(body), "fetch answer")
            except Malformed as exc:
                raise BridgeError(f"the fetch answer is malformed: {exc}") from exc
            if facts["envelope_id"] != envelope_id:
                raise BridgeError("the fetched body is not the one asked for")
            if facts["size"] > MAX_BODY:
                raise BodyTooLarge(f"an envelope of {facts['size']} bytes is over the "
                                   f"{MAX_BODY}-byte limit; it stays at intake")
            digest, size = hashlib.sha256(), 0
            fd = os.open(into, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    size += len(chunk)
                    if size > int(facts["size"]):
                        break
                    digest.update(chunk)
                    out.write(chunk)
        if size != int(facts["size"]) or digest.hexdigest() != facts["sha256"]:
            into.unlink(missing_ok=True)
            raise BridgeError("the fetched body was truncated or altered in transit")

    def ack(self, envelope_ids: list[str]) -> int:
        """Tell intake these are stored here; it deletes its copies."""
        deleted: int = self._call("ack", {"envelope_ids": envelope_ids})["deleted"]
        return deleted

    def push(self, items: list[dict[str, str]]) -> tuple[list[str], list[str]]:
        """Hand sealed replies and status updates to intake.

        Returns (stored, refused): only ids that were in this push count, whatever
        intake answers; refused ones (e.g. a receipt intake no longer has) never will be.
        """
        answer = self._call("push", {"items": items})
        sent = {item["envelope_id"] for item in items}
        return ([i for i in answer["stored"] if i in sent],
                [i for i in answer["refused"] if i in sent])


def client_for(casework: Casework) -> IntakeClient:
    """The client configured in casework.json (URL, pinned intake key, our signing key)."""
    config = casework.config
    if not config.intake_sync_url or not config.intake_verify_key:
        raise BridgeError("casework.json has no intake_sync_url / intake_verify_key")
    seed = config.signing_key_path.read_bytes()
    return IntakeClient(config.intake_sync_url, crypto.SigningKey.from_seed(seed),
                        crypto.VerifyKey(config.intake_verify_key))


def run_cycle(casework: Casework, client: IntakeClient, batch: int = 50) -> CycleReport:
    """Pull → fetch → import (commit) → ack → push → mark delivered.

    Nothing intake answers can crash the cycle half way: a malformed answer as a whole
    is a :class:`BridgeError` before anything is changed (the next cycle retries), and one
    malformed or unfetchable item is logged, counted and skipped without holding up the
    rest. Acknowledgement always follows the import's commit, so nothing is lost.
    """
    items = client.pull(batch)
    spool = casework.store.incoming_dir
    fetched: list[Incoming] = []
    skipped = 0
    try:
        for raw in items:
            try:
                item = validate(PULL_ITEM, raw, "pull item")
            except Malformed as exc:
                # Not acknowledged: an honest intake never sends it, and without a valid id
                # there is nothing to acknowledge; logged by field, never by value.
                log.warning("bridge: skipped a malformed item: %s", exc)
                skipped += 1
                continue
            path = spool / f"fetch-{secrets.token_hex(8)}"
            try:
                client.fetch(item["envelope_id"], path)
            except BridgeError as exc:
                # Skipped, not acknowledged: it waits at intake (too large: for an operator;
                # anything else: for the next cycle), and the rest of the batch goes on.
                log.warning("bridge: %s", exc)
                path.unlink(missing_ok=True)
                skipped += 1
                continue
            fetched.append(Incoming(
                envelope_id=item["envelope_id"], receipt_id=item["receipt_id"],
                kind=item["kind"], header=item["header"], body_path=path,
                tipster_public_key=item["tipster_public_key"], unit_id=item["unit_id"]))
        outcome = import_from_intake(casework, fetched)
    finally:
        for incoming in fetched:
            incoming.body_path.unlink(missing_ok=True)
    if skipped:
        log.warning("bridge: skipped %d of %d items in this pull", skipped, len(items))
    stored = outcome.acknowledge
    acknowledged = client.ack(stored) if stored else 0
    delivered = 0
    # In batches: intake refuses a push of more items than its batch limit, and bodies
    # are held in memory only one batch at a time.
    while outgoing := pending_pushes(casework, limit=batch):
        done, refused = client.push([
            {"receipt_id": o.receipt_id, "envelope_id": o.envelope_id, "kind": o.kind,
             "header": base64.b64encode(o.header).decode(),
             "body": base64.b64encode(o.body).decode()} for o in outgoing])
        if refused:
            # Intake will never store these (its receipt is gone, say): stop pushing them
            # rather than send them in every cycle. Logged by count.
            log.warning("bridge: intake refused %d replies for good", len(refused))
        mark_delivered(casework, [*done, *refused])
        delivered += len(done)
        if len(done) + len(refused) < len(outgoing):
            break  # intake stored only part: the rest waits for the next cycle
    with casework.db.session() as session:
        state = session.get(BridgeState, "last_success")
        if state is None:
            session.add(BridgeState(name="last_success", at=utcnow()))
        else:
            state.at = utcnow()
    return CycleReport(len(stored), acknowledged, delivered)


def last_success(casework: Casework) -> dt.datetime | None:
    """When a cycle last completed (None: never)."""
    with casework.db.session() as session:
        state = session.get(BridgeState, "last_success")
        return state.at if state else None


def sync_is_stale(casework: Casework, now: dt.datetime | None = None) -> bool:
    """True when a bridge is configured and has not completed a cycle for too long."""
    if not casework.config.intake_sync_url:
        return False
    last = last_success(casework)
    current = now or utcnow()
    limit = dt.timedelta(seconds=casework.config.sync_warn_after_seconds)
    return last is None or current - last > limit
