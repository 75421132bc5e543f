"""The bridge's messages, checked strictly: one small schema per purpose, both directions.

A signature says who sent a message, not that it is well formed: casework's requests
reach intake's sync app, and intake's answers and bundles reach casework, only after
their signatures verify, yet a bug or a compromised peer can still sign nonsense. Every
message is therefore parsed against the schema of its purpose before anything acts on
it, and refused whole if one field is off (all or nothing: nothing is half applied).

Refusals name the field, never its value: values can be envelope ids or content.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from .storage import is_envelope_id

# What intake may hand casework: only what a tipster can send. Casework's own kinds
# ("note", a reviewer's "message" reply, "status") can never arrive from intake.
FROM_TIPSTER_KINDS = frozenset({"report", "file", "identity", "message"})
# What casework may push to intake for a tipster.
TO_TIPSTER_KINDS = frozenset({"message", "status"})

MAX_ITEMS = 10_000  # a hard ceiling; each side also applies its own, lower batch limit
MAX_HEADER = 64 * 1024  # a header holds one sealed key per recipient: a few dozen at most
MAX_PUSH_BODY = 16 * 1024 * 1024  # a reply or status is a short JSON document
MAX_BODY = 600 * 1024 * 1024  # one envelope body (intake's own upload limit is lower)
MAX_LISTED_REPLIES = 20_000_000  # about 700 MB of ids: under the 1 GiB bundle limit
MAX_UNIT_ID = 64
MAX_KIND = 16


class Malformed(ValueError):
    """A message does not have the shape its purpose requires (names the field only)."""


Check = Callable[[object, str], Any]


def parse_json(data: bytes | str) -> object:
    """JSON, or :class:`Malformed`: never NaN/Infinity, never a crash on deep nesting."""
    def no_constants(name: str) -> object:
        raise Malformed(f"{name} is not JSON")

    try:
        return json.loads(data, parse_constant=no_constants)
    except RecursionError as exc:  # "[[[[..." deeper than the parser's stack
        raise Malformed("the body is nested too deeply") from exc
    except ValueError as exc:  # also UnicodeDecodeError
        raise Malformed("the body is not JSON") from exc


def hex_id(value: object, where: str) -> str:
    """An envelope or receipt id: exactly 32 lowercase hex characters."""
    if not is_envelope_id(value):
        raise Malformed(f"{where} is not an id")
    return str(value)


def integer(low: int, high: int) -> Check:
    """An integer (not a bool, not a float) in ``[low, high]``."""
    def check(value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Malformed(f"{where} is not an integer from {low} to {high}")
        return value
    return check


def text(max_length: int) -> Check:
    """A non-empty string of at most ``max_length`` characters."""
    def check(value: object, where: str) -> str:
        if not isinstance(value, str) or not 0 < len(value) <= max_length:
            raise Malformed(f"{where} is not a string of 1 to {max_length} characters")
        return value
    return check


def one_of(allowed: Collection[str]) -> Check:
    """One of a fixed set of strings."""
    def check(value: object, where: str) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise Malformed(f"{where} is not an allowed value")
        return value
    return check


def base64_bytes(max_bytes: int) -> Check:
    """Standard base64 (strict alphabet, padded), decoding to at most ``max_bytes``."""
    def check(value: object, where: str) -> bytes:
        if not isinstance(value, str) or len(value) > 4 * (max_bytes // 3 + 1):
            raise Malformed(f"{where} is not base64 of at most {max_bytes} bytes")
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Malformed(f"{where} is not base64") from exc
        if len(decoded) > max_bytes:
            raise Malformed(f"{where} is over {max_bytes} bytes")
        return decoded
    return check


def hex_bytes(max_bytes: int, exact: int | None = None) -> Check:
    """Lowercase or uppercase hex, decoding to at most ``max_bytes`` (or exactly ``exact``)."""
    def check(value: object, where: str) -> bytes:
        if not isinstance(value, str) or len(value) > 2 * max_bytes:
            raise Malformed(f"{where} is not hex of at most {max_bytes} bytes")
        try:
            decoded = bytes.fromhex(value)
        except ValueError as exc:
            raise Malformed(f"{where} is not hex") from exc
        if exact is not None and len(decoded) != exact:
            raise Malformed(f"{where} is not {exact} bytes")
        return decoded
    return check


def array(item: Check, max_items: int) -> Check:
    """A list of at most ``max_items`` items, each passing ``item``."""
    def check(value: object, where: str) -> list[Any]:
        if not isinstance(value, list) or len(value) > max_items:
            raise Malformed(f"{where} is not a list of at most {max_items} items")
        return [item(entry, f"{where}[{index}]") for index, entry in enumerate(value)]
    return check


def record(fields: Mapping[str, Check]) -> Check:
    """An object with exactly these keys (none missing, none extra)."""
    def check(value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Malformed(f"{where} is not an object")
        if set(value) != set(fields):
            raise Malformed(f"{where} does not have exactly the fields "
                            f"{', '.join(sorted(fields))}")
        return {name: fields[name](value[name], f"{where}.{name}") for name in fields}
    return check


def sha256_hex(value: object, where: str) -> str:
    """A SHA-256 digest as 64 lowercase hex characters."""
    if (not isinstance(value, str) or len(value) != 64
            or any(c not in "0123456789abcdef" for c in value)):
        raise Malformed(f"{where} is not a SHA-256 digest")
    return value


# --- Requests (casework → intake's sync app) -------------------------------------------

PUSH_ITEM = record({"receipt_id": hex_id, "envelope_id": hex_id,
                    "kind": one_of(TO_TIPSTER_KINDS), "header": base64_bytes(MAX_HEADER),
                    "body": base64_bytes(MAX_PUSH_BODY)})

REQUESTS: dict[str, Check] = {
    "pull": record({"batch": integer(1, MAX_ITEMS)}),
    "fetch": record({"envelope_id": hex_id}),
    "ack": record({"envelope_ids": array(hex_id, MAX_ITEMS)}),
    "push": record({"items": array(PUSH_ITEM, MAX_ITEMS)}),
}

# --- Responses (intake's sync app → casework) ------------------------------------------

# The kind is checked structurally only: a well-formed item of a kind intake may not
# send is refused by the import (and acknowledged there, so it cannot block the queue).
PULL_ITEM = record({"envelope_id": hex_id, "receipt_id": hex_id, "kind": text(MAX_KIND),
                    "header": base64_bytes(MAX_HEADER), "body_size": integer(0, 2**62),
                    "tipster_public_key": hex_bytes(32, exact=32),
                    "unit_id": text(MAX_UNIT_ID)})

RESPONSES: dict[str, Check] = {
    # Items are checked one by one (PULL_ITEM), so one bad item does not hold up the rest.
    "pull": record({"items": array(lambda value, _where: value, MAX_ITEMS)}),
    "fetch": record({"envelope_id": hex_id, "size": integer(0, 2**62),
                     "sha256": sha256_hex}),
    "ack": record({"deleted": integer(0, MAX_ITEMS)}),
    "push": record({"stored": array(hex_id, MAX_ITEMS), "refused": array(hex_id, MAX_ITEMS)}),
}

# --- Air-gap bundles -------------------------------------------------------------------

BUNDLE_ITEM = record({"envelope_id": hex_id, "receipt_id": hex_id, "kind": text(MAX_KIND),
                      "header": hex_bytes(MAX_HEADER), "body": hex_bytes(MAX_BODY),
                      "tipster_public_key": hex_bytes(32, exact=32),
                      "unit_id": text(MAX_UNIT_ID)})
BUNDLE_PUSH = record({"receipt_id": hex_id, "envelope_id": hex_id,
                      "kind": one_of(TO_TIPSTER_KINDS), "header": hex_bytes(MAX_HEADER),
                      "body": hex_bytes(MAX_PUSH_BODY)})

BUNDLES: dict[str, Check] = {
    # Intake lists every reply it holds for tipsters (it keeps no record of what casework
    # was told): that list grows with the service, bounded in practice by the bundle size.
    "bundle-to-casework": record({"items": array(BUNDLE_ITEM, MAX_ITEMS),
                                  "tipster_envelopes": array(hex_id, MAX_LISTED_REPLIES)}),
    "bundle-to-intake": record({"acks": array(hex_id, MAX_ITEMS),
                                "pushes": array(BUNDLE_PUSH, MAX_ITEMS)}),
}


def validate(schema: Check, value: object, where: str = "body") -> dict[str, Any]:
    """``value`` checked against ``schema`` (converted: base64 and hex become bytes)."""
    result: dict[str, Any] = schema(value, where)
    return result
