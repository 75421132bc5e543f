"""The recipient directory: who may read reports, as casework signs it and intake reads it.

One module holds the document's format, both ways: casework builds and signs it
(``casework/directory.py`` collects the people from its database and calls
:func:`build_directory` and :func:`sign_directory`), intake verifies and parses it
(:func:`verify_directory`) into the model it routes reports with.

Intake seals every report to public keys it takes from this document, so the document
is the trust anchor for confidentiality: it is accepted only when signed by the pinned
casework key for this purpose, of this format, not expired, and not older than the one
in force (no rollback).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import crypto

from .contract import DocumentPurpose

PURPOSE = DocumentPurpose.RECIPIENT_DIRECTORY
FORMAT = "lykta-recipient-directory/1"


# --- Building (casework) -------------------------------------------------------------


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


# --- Reading (intake) ----------------------------------------------------------------


class DirectoryRefused(Exception):
    """The directory may not be used; the message says why (no secrets in it)."""


@dataclass(frozen=True)
class Person:
    """A reviewer or custodian as the directory lists them."""

    key_id: str
    name: str
    public_key: crypto.PublicKey


@dataclass(frozen=True)
class Unit:
    """A receiving unit and its active reviewers."""

    id: str
    names: dict[str, str]
    reviewers: tuple[Person, ...]
    alternate_unit: str | None

    def name(self, locale: str) -> str:
        """The unit's name in ``locale`` (Swedish if missing)."""
        return self.names.get(locale) or self.names.get("sv") or self.id


@dataclass(frozen=True)
class RecipientDirectory:
    """A verified directory."""

    serial: int
    expires_at: dt.datetime
    escrow: crypto.PublicKey
    custodians: tuple[Person, ...]
    units: dict[str, Unit]
    routes: dict[str, str]

    def unit_for(self, category: str) -> Unit:
        """The unit that receives reports of ``category``."""
        unit_id = self.routes.get(category) or self.routes.get("other")
        if unit_id is None or unit_id not in self.units:
            raise DirectoryRefused(f"no unit receives the category {category!r}")
        return self.units[unit_id]

    def all_reviewers(self) -> list[Person]:
        """Every reviewer of every unit, once each, for the conflict-of-interest choice."""
        seen: dict[str, Person] = {}
        for unit in self.units.values():
            for person in unit.reviewers:
                seen.setdefault(person.key_id, person)
        return sorted(seen.values(), key=lambda p: p.name)

    def route(self, category: str, excluded: Iterable[str]) -> tuple[Unit, list[Person]]:
        """Pick the receiving unit and its readers, leaving out ``excluded`` key ids.

        When the tipster excludes every reviewer of the receiving unit (the report is
        about that unit's own members), it goes to the unit's alternate unit instead.
        """
        unit, readers = self._readers_of(self.unit_for(category), set(excluded))
        if not readers:
            raise DirectoryRefused("no reviewer is left to receive this report")
        return unit, readers

    def follow_up_readers(self, unit_id: str, original: Iterable[str],
                          excluded: Iterable[str]) -> list[Person]:
        """Readers for a later item of a receipt (a follow-up message or file).

        The receipt's original readers who are still listed; if none of them remain, the
        unit's readers, then its alternate unit's, minus the tipster's exclusions. The
        exclusions hold for every later item: an excluded reviewer is never a reader,
        however the directory has changed since the report.
        """
        excluded_ids = set(excluded)
        wanted = set(original) - excluded_ids
        readers = [p for p in self.all_reviewers() if p.key_id in wanted]
        unit = self.units.get(unit_id)
        if not readers and unit is not None:
            _unit, readers = self._readers_of(unit, excluded_ids)
        if not readers:
            raise DirectoryRefused("no reviewer is left to receive this message")
        return readers

    def _readers_of(self, unit: Unit, excluded_ids: set[str]) -> tuple[Unit, list[Person]]:
        """``unit``'s reviewers minus the excluded; if none is left, its alternate unit's
        (the report is about the unit's own members). Possibly no one."""
        readers = [p for p in unit.reviewers if p.key_id not in excluded_ids]
        if not readers and unit.alternate_unit in self.units:
            unit = self.units[unit.alternate_unit]
            readers = [p for p in unit.reviewers if p.key_id not in excluded_ids]
        return unit, readers


def _person(raw: dict[str, Any]) -> Person:
    key = crypto.PublicKey(bytes.fromhex(raw["public_key"]))
    if key.key_id_hex != raw["key_id"]:
        raise DirectoryRefused("a key id does not match its public key")
    return Person(key_id=raw["key_id"], name=str(raw["name"]), public_key=key)


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise DirectoryRefused("directory times must carry a time zone")
    return parsed


def parse_directory(body: bytes) -> RecipientDirectory:
    """Parse the JSON body of a directory (after its signature was verified)."""
    try:
        raw = json.loads(body)
        if raw.get("format") != FORMAT:
            raise DirectoryRefused("unknown directory format")
        units = {
            u["id"]: Unit(
                id=u["id"],
                names=dict(u["name"]),
                reviewers=tuple(_person(p) for p in u["reviewers"]),
                alternate_unit=u.get("alternate_unit"),
            )
            for u in raw["units"]
        }
        return RecipientDirectory(
            serial=int(raw["serial"]),
            expires_at=_parse_time(raw["expires_at"]),
            escrow=crypto.PublicKey(bytes.fromhex(raw["escrow"]["public_key"])),
            custodians=tuple(_person(p) for p in raw["custodians"]),
            units=units,
            routes={str(k): str(v) for k, v in raw["routes"].items()},
        )
    except DirectoryRefused:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, crypto.CryptoError) as exc:
        raise DirectoryRefused("the directory document is malformed") from exc


def verify_directory(
    document: bytes,
    casework_key: crypto.VerifyKey,
    *,
    now: dt.datetime | None = None,
    min_serial: int = 0,
) -> RecipientDirectory:
    """Verify a signed directory and return it, or raise :class:`DirectoryRefused`."""
    try:
        message = crypto.verify_document(casework_key, document, purpose=PURPOSE)
    except crypto.ForgedMessage as exc:
        raise DirectoryRefused(
            "the directory is not signed by the pinned casework key"
        ) from exc
    except crypto.CryptoError as exc:
        raise DirectoryRefused("the directory is unsigned or malformed") from exc
    directory = parse_directory(message.body)
    current = now or dt.datetime.now(dt.UTC)
    if directory.expires_at <= current:
        raise DirectoryRefused(
            f"the directory expired on {directory.expires_at:%Y-%m-%d}; export a new one"
        )
    if directory.serial < min_serial:
        raise DirectoryRefused(
            f"the directory (serial {directory.serial}) is older than the one in force "
            f"(serial {min_serial})"
        )
    return directory
