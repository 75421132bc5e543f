"""Casework's signed HTTP client for intake's sync app: pull, fetch, ack, push, command.

Casework opens every connection; intake never connects here. Each request is signed
with casework's Ed25519 key and each response must verify under intake's pinned key
and answer this request's nonce, so a response cannot be forged, replayed or passed off
for another request. Every answer is checked against its schema (``common.contract``)
before it is used: intake is trusted for delivery only (threat-model.md, 6.11).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import crypto
from common.contract import RESPONSES, CommandItem, ReplyItem, SyncPurpose
from common.sync_schema import MAX_BODY, Malformed, parse_json, validate

SIGNATURE_HEADER = "Lykta-Signed"
MAX_RESPONSE = 32 * 1024 * 1024  # a pull or push answer; bodies are streamed separately


class BridgeError(Exception):
    """A sync step failed; the message says which (never content)."""


class BodyTooLarge(BridgeError):
    """One envelope is larger than this side accepts; the others still go through."""


def tls_context(ca_file: Path | None = None,
                client_cert: Path | None = None) -> ssl.SSLContext:
    """The TLS settings of the sync link: the server's certificate must chain to
    ``ca_file`` (an internal CA; None: the system's CAs) and name the URL's host, and
    ``client_cert`` (a PEM file holding casework's certificate and key) is shown when the
    server asks for one. A file that cannot be read is a BridgeError naming the setting."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise BridgeError("intake_sync_ca_file cannot be read as a PEM certificate") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None:
        try:
            context.load_cert_chain(str(client_cert))
        except (OSError, ssl.SSLError) as exc:
            raise BridgeError("intake_sync_client_cert cannot be read as a PEM certificate "
                              "and key") from exc
    return context


class IntakeClient:
    """Signed requests to intake's sync app."""

    def __init__(self, url: str, signing_key: crypto.SigningKey,
                 intake_key: crypto.VerifyKey, timeout: float = 60.0,
                 tls: ssl.SSLContext | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise BridgeError("the intake sync URL must be http(s)")
        self._url = url.rstrip("/")
        self._key = signing_key
        self._intake = intake_key
        self._timeout = timeout
        # Certificate and host name checked (create_default_context) unless told otherwise.
        self._tls = tls if tls is not None else ssl.create_default_context()
        # One opener for the client's life: ``urlopen(context=...)`` builds a new one (and
        # reads the proxy environment) for every request, once per fetched envelope.
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._tls))

    def _post(self, purpose: SyncPurpose, body: dict[str, Any]) -> tuple[Any, bytes]:
        nonce = secrets.token_bytes(crypto.signing.NONCE_BYTES)
        message = crypto.sign_message(self._key, purpose=purpose,
                                      body=json.dumps(body).encode(), nonce=nonce)
        request = urllib.request.Request(f"{self._url}/v1/{purpose}", data=message,  # noqa: S310 (scheme checked above)
                                         method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        try:
            response = self._opener.open(request, timeout=self._timeout)
        except urllib.error.HTTPError as exc:
            raise BridgeError(f"intake refused the {purpose} request ({exc.code})") from exc
        except OSError as exc:
            raise BridgeError(f"intake is unreachable for {purpose}") from exc
        return response, nonce

    def _call(self, purpose: SyncPurpose, body: dict[str, Any]) -> dict[str, Any]:
        response, nonce = self._post(purpose, body)
        with response:
            data = response.read(MAX_RESPONSE + 1)
        if len(data) > MAX_RESPONSE:
            raise BridgeError(f"the {purpose} answer is too large")
        try:
            verified = crypto.verify_message(
                self._intake, data, purpose=purpose.response, in_reply_to=nonce,
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

        Each item is still unchecked (the caller parses it with ``TipsterItem.from_wire``):
        one bad item must not hold up the rest. More items than asked for is refused whole.
        """
        items: list[Any] = self._call(SyncPurpose.PULL, {"batch": batch})["items"]
        if len(items) > batch:
            raise BridgeError(f"the pull answer has {len(items)} items for a batch of {batch}")
        return items

    def fetch(self, envelope_id: str, into: Path) -> None:
        """Stream one body into ``into``, checking size and digest from a signed header."""
        response, nonce = self._post(SyncPurpose.FETCH, {"envelope_id": envelope_id})
        with response:
            try:
                signed = base64.b64decode(response.headers.get(SIGNATURE_HEADER, ""),
                                          validate=True)
                body = crypto.verify_message(
                    self._intake, signed, purpose=SyncPurpose.FETCH.response, in_reply_to=nonce,
                    replay_cache=crypto.MemoryReplayCache(max_entries=1)).body
            except (ValueError, crypto.SyncMessageError) as exc:
                raise BridgeError("the fetched body's signature did not verify") from exc
            try:
                facts = validate(RESPONSES[SyncPurpose.FETCH], parse_json(body),
                                 "fetch answer")
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
        deleted: int = self._call(SyncPurpose.ACK, {"envelope_ids": envelope_ids})["deleted"]
        return deleted

    def command(self, items: list[CommandItem]) -> tuple[list[str], list[tuple[str, str]]]:
        """Hand commands to intake (register a receipt, forget a dialogue).

        Returns (applied, refused with their reason codes): only ids that were in this
        request count, whatever intake answers.
        """
        answer = self._call(SyncPurpose.COMMAND,
                            {"commands": [item.to_wire() for item in items]})
        sent = {item.command_id for item in items}
        return ([i for i in answer["applied"] if i in sent],
                [(r["id"], r["reason"]) for r in answer["refused"] if r["id"] in sent])

    def push(self, items: list[ReplyItem]) -> tuple[list[str], list[str]]:
        """Hand sealed replies and status updates to intake.

        Returns (stored, refused): only ids that were in this push count, whatever
        intake answers; refused ones (e.g. a receipt intake no longer has) never will be.
        """
        answer = self._call(SyncPurpose.PUSH, {"items": [item.to_wire() for item in items]})
        sent = {item.envelope_id for item in items}
        return ([i for i in answer["stored"] if i in sent],
                [i for i in answer["refused"] if i in sent])
