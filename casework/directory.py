"""Building and signing the recipient directory that intake needs.

Until casework's accounts exist (issue 4) the demo and the tests call this with keys
they make themselves; the casework CLI will call it with the keys of its users.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import crypto

PURPOSE = "recipient-directory"
FORMAT = "lykta-recipient-directory/1"


@dataclass(frozen=True)
class Listed:
    """A person to list: display name and public key."""

    name: str
    public_key: crypto.PublicKey

    def as_json(self) -> dict[str, str]:
        """The JSON form used in the directory."""
        return {"key_id": self.public_key.key_id_hex, "name": self.name,
                "public_key": self.public_key.raw.hex()}


@dataclass(frozen=True)
class UnitEntry:
    """A unit to list."""

    id: str
    names: Mapping[str, str]
    reviewers: Iterable[Listed]
    alternate_unit: str | None = None


def build_directory(
    *,
    serial: int,
    units: Iterable[UnitEntry],
    routes: Mapping[str, str],
    escrow: crypto.PublicKey,
    custodians: Iterable[Listed],
    valid_for: dt.timedelta = dt.timedelta(days=30),
    now: dt.datetime | None = None,
) -> bytes:
    """The canonical JSON body of a directory."""
    issued = now or dt.datetime.now(dt.UTC)
    document = {
        "format": FORMAT,
        "serial": serial,
        "issued_at": issued.isoformat(timespec="seconds"),
        "expires_at": (issued + valid_for).isoformat(timespec="seconds"),
        "escrow": {"public_key": escrow.raw.hex()},
        "custodians": [c.as_json() for c in custodians],
        "units": [
            {"id": u.id, "name": dict(u.names), "alternate_unit": u.alternate_unit,
             "reviewers": [r.as_json() for r in u.reviewers]}
            for u in units
        ],
        "routes": dict(routes),
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")


def sign_directory(body: bytes, key: crypto.SigningKey) -> bytes:
    """Sign a directory body with casework's Ed25519 key."""
    return crypto.sign_document(key, purpose=PURPOSE, body=body)
