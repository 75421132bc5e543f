"""The primitives the bridge's messages are checked with, and their size limits.

A signature says who sent a message, not that it is well formed: casework's requests
reach intake's sync app, and intake's answers and bundles reach casework, only after
their signatures verify, yet a bug or a compromised peer can still sign nonsense. Every
message is therefore parsed against the schema of its purpose before anything acts on
it, and refused whole if one field is off (all or nothing: nothing is half applied).

The schemas themselves are built from these checks where the messages are defined: the
items and the sync's requests and answers in ``common.contract``, the air-gap bundles in
``common.bundles``. Refusals name the field, never its value: values can be envelope
ids or content.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from .storage import is_envelope_id

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


def array(item: Check, max_items: int) -> Check:
    """A list of at most ``max_items`` items, each passing ``item``."""
    def check(value: object, where: str) -> list[Any]:
        if not isinstance(value, list) or len(value) > max_items:
            raise Malformed(f"{where} is not a list of at most {max_items} items")
        return [item(entry, f"{where}[{index}]") for index, entry in enumerate(value)]
    return check


def record(fields: Mapping[str, Check], optional: Mapping[str, Check] | None = None) -> Check:
    """An object with exactly these keys (none missing, none extra), and any of the
    ``optional`` ones (checked when present: a field added later, which an older peer's
    message does not have yet)."""
    extra = dict(optional or {})

    def check(value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Malformed(f"{where} is not an object")
        if not set(fields) <= set(value) <= set(fields) | set(extra):
            raise Malformed(f"{where} does not have exactly the fields "
                            f"{', '.join(sorted(fields))}")
        every = {**fields, **extra}
        return {name: every[name](value[name], f"{where}.{name}") for name in value}
    return check


def optional_moment(value: object, where: str) -> dt.datetime | None:
    """None, or a moment as ISO 8601 without a time zone (a UTC time as casework keeps it)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 32:
        raise Malformed(f"{where} is not a moment")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise Malformed(f"{where} is not a moment") from exc
    if moment.tzinfo is not None:
        raise Malformed(f"{where} is not a moment")
    return moment


def sha256_hex(value: object, where: str) -> str:
    """A SHA-256 digest as 64 lowercase hex characters."""
    if (not isinstance(value, str) or len(value) != 64
            or any(c not in "0123456789abcdef" for c in value)):
        raise Malformed(f"{where} is not a SHA-256 digest")
    return value


def validate(schema: Check, value: object, where: str = "body") -> dict[str, Any]:
    """``value`` checked against ``schema`` (converted: base64 becomes bytes, items objects)."""
    result: dict[str, Any] = schema(value, where)
    return result
