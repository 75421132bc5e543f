"""Casework configuration: one frozen, validated object handed to ``create_app``.

``flask --app casework``, the demo and the rq worker read it from
``instance/casework.json``; tests build it directly. Every field can be set in the file,
under the name in :data:`FILE_KEYS` (the field's own name but for the three paths). Each
default is written once, on the field (or, for the fields that code must always pass, in
:data:`FILE_DEFAULTS`); :meth:`CaseworkConfig.from_dict` turns a mapping of file values
into the config, refusing unknown names, wrong types and out-of-range values with a
:class:`ConfigError` that names the setting. In the file, paths are relative to the
instance folder, ``secret_key`` is base64, the two public keys are hex, and ``argon2`` is
``{"t": passes, "m": KiB, "p": lanes}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import crypto

CONFIG_FILE = "casework.json"


class ConfigError(Exception):
    """The configuration is missing something or holds an invalid value."""


@dataclass(frozen=True)
class CaseworkConfig:
    """Everything the casework app needs to run."""

    instance_path: Path
    database_url: str
    secret_key: bytes
    signing_key_path: Path
    argon2: crypto.Argon2Params = crypto.PRODUCTION
    session_idle_seconds: int = 15 * 60
    session_absolute_seconds: int = 8 * 3600
    lockout_threshold: int = 5
    lockout_base_seconds: int = 30
    lockout_max_seconds: int = 3600
    # Failure counters (of accounts and of unknown names alike) are forgotten this long
    # after the last failure; longer than the longest lock, so no lock is cut short.
    failure_memory_seconds: int = 24 * 3600
    # How long a checked password may wait for its TOTP set-up (one enrolment row).
    enrolment_seconds: int = 10 * 60
    # Secure cookies by default: the session cookie carries the secret that unlocks the
    # key, so it must never travel over plain HTTP. Only the loopback demo turns it off,
    # explicitly ("https": false in its casework.json).
    https: bool = True
    totp_issuer: str = "Lykta"
    directory_valid_days: int = 30
    escrow_public_key: bytes | None = None
    storage_path: Path | None = None
    # The key that seals TOTP secrets at rest. Default: totp.key in the instance folder,
    # created (0600) at the first start. Never in the database: a copy of the database
    # alone must not give the second factor.
    totp_key_path: Path | None = None
    # The bridge: where intake's sync app listens (internal interface) and its pinned key.
    intake_sync_url: str | None = None
    intake_verify_key: bytes | None = None
    sync_warn_after_seconds: int = 3600
    redis_url: str | None = None  # rq queue for background jobs; None: run in-process
    acknowledgement_sv: str = (
        "Tack för din rapport. Vi har tagit emot den och kommer att gå igenom den. "
        "Du får återkoppling senast inom tre månader. Logga in med din kvittokod "
        "då och då för att se frågor och svar."
    )
    acknowledgement_en: str = (
        "Thank you for your report. We have received it and will look into it. You will "
        "get feedback within three months at the latest. Sign in with your receipt code "
        "now and then to see questions and answers."
    )

    @property
    def totp_key_file(self) -> Path:
        """Where the TOTP sealing key is kept."""
        return self.totp_key_path or self.instance_path / "totp.key"

    @property
    def storage(self) -> Path:
        """Where envelope bodies are kept."""
        return self.storage_path or self.instance_path / "casework-storage"

    def __post_init__(self) -> None:
        if not self.database_url:
            raise ConfigError("database_url must not be empty")
        if len(self.secret_key) < 32:
            raise ConfigError("secret_key must be at least 32 bytes")
        if not 0 < self.session_idle_seconds <= self.session_absolute_seconds:
            raise ConfigError("session_idle_seconds must be positive and at most "
                              "session_absolute_seconds")
        for name in ("lockout_threshold", "lockout_base_seconds", "enrolment_seconds",
                     "directory_valid_days", "sync_warn_after_seconds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.lockout_max_seconds < self.lockout_base_seconds:
            raise ConfigError("lockout_max_seconds must be at least lockout_base_seconds")
        if self.failure_memory_seconds <= self.lockout_max_seconds:
            raise ConfigError("failure_memory_seconds must exceed lockout_max_seconds")
        if not self.totp_issuer.strip() or ":" in self.totp_issuer:
            raise ConfigError("totp_issuer must be a non-empty name without a colon "
                              "(authenticator apps read the colon as a separator)")
        for name in ("escrow_public_key", "intake_verify_key"):
            key = getattr(self, name)
            if key is not None and len(key) != 32:
                raise ConfigError(f"{name} must be 32 bytes")
        if self.intake_sync_url is not None and not self.intake_sync_url.startswith(
                ("http://", "https://")):
            raise ConfigError("intake_sync_url must start with http:// or https://")
        if self.redis_url is not None and not self.redis_url.startswith(
                ("redis://", "rediss://", "unix://")):
            raise ConfigError("redis_url must start with redis://, rediss:// or unix://")
        for name in ("acknowledgement_sv", "acknowledgement_en"):
            if not getattr(self, name).strip():
                raise ConfigError(f"{name} must not be empty")

    @classmethod
    def from_instance(cls, instance_path: Path) -> CaseworkConfig:
        """Load ``casework.json`` from an instance folder."""
        path = instance_path / CONFIG_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{path} not found: run `make demo` (or write the file)") from exc
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} must hold a JSON object")
        return cls.from_dict(raw, instance_path)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], instance_path: Path) -> CaseworkConfig:
        """Build a config from settings by their file names (JSON values, as above).
        Settings left out keep their defaults. This is the one way in from outside code:
        a later layer (environment variables) only has to produce such a mapping and
        merge it over the file's.
        """
        unknown = sorted(set(raw) - set(FILE_KEYS.values()))
        if unknown:
            raise ConfigError(f"unknown setting(s) in casework configuration: "
                              f"{', '.join(unknown)} (known: "
                              f"{', '.join(sorted(FILE_KEYS.values()))})")
        values: dict[str, Any] = {"instance_path": instance_path}
        for item in fields(cls):
            if item.name == "instance_path":
                continue
            key = FILE_KEYS[item.name]
            if key in raw:
                values[item.name] = _PARSERS[item.name](key, raw[key], instance_path)
            elif item.name in FILE_DEFAULTS:
                values[item.name] = FILE_DEFAULTS[item.name](instance_path)
            elif item.name in _REQUIRED:
                raise ConfigError(f"{key} is missing from the casework configuration")
        return cls(**values)


# --- reading settings from the file ----------------------------------------------------

Parser = Callable[[str, Any, Path], Any]


def _integer(key: str, value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number, not {value!r}")
    return value


def _boolean(key: str, value: Any, _: Path) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, not {value!r}")
    return value


def _text(key: str, value: Any, _: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _path(key: str, value: Any, instance_path: Path) -> Path:
    return instance_path / _text(key, value, instance_path)


def _base64(key: str, value: Any, instance_path: Path) -> bytes:
    try:
        return base64.b64decode(_text(key, value, instance_path), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{key} must be base64") from exc


def _hex(key: str, value: Any, instance_path: Path) -> bytes:
    try:
        return bytes.fromhex(_text(key, value, instance_path))
    except ValueError as exc:
        raise ConfigError(f"{key} must be hexadecimal") from exc


def _argon2(key: str, value: Any, _: Path) -> crypto.Argon2Params:
    if not isinstance(value, dict) or set(value) != {"t", "m", "p"} or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        raise ConfigError(f'{key} must be {{"t": passes, "m": KiB, "p": lanes}} with whole '
                          f"numbers, not {value!r}")
    try:
        return crypto.Argon2Params.from_dict(value)
    except crypto.CryptoError as exc:
        raise ConfigError(f"{key}: {exc.__cause__ or exc}") from exc


def _optional(parse: Parser) -> Parser:
    """null (or an empty string, as older files wrote) leaves the setting unset."""
    def parse_optional(key: str, value: Any, instance_path: Path) -> Any:
        return None if value is None or value == "" else parse(key, value, instance_path)
    return parse_optional


# Each field's name in the file (its own name unless listed here).
FILE_KEYS: dict[str, str] = {f.name: f.name for f in fields(CaseworkConfig)} | {
    "signing_key_path": "signing_key", "totp_key_path": "totp_key",
    "storage_path": "storage"}
del FILE_KEYS["instance_path"]  # the folder the file is in

# Defaults of the fields that code must pass, for a file that leaves them out.
FILE_DEFAULTS: dict[str, Callable[[Path], Any]] = {
    "database_url": lambda instance: f"sqlite:///{instance / 'casework.sqlite'}",
    "signing_key_path": lambda instance: instance / "casework-signing.seed",
}
_REQUIRED = ("secret_key",)

_PARSERS: dict[str, Parser] = {
    "database_url": _text,
    "secret_key": _base64,
    "signing_key_path": _path,
    "argon2": _argon2,
    "session_idle_seconds": _integer,
    "session_absolute_seconds": _integer,
    "lockout_threshold": _integer,
    "lockout_base_seconds": _integer,
    "lockout_max_seconds": _integer,
    "failure_memory_seconds": _integer,
    "enrolment_seconds": _integer,
    "https": _boolean,
    "totp_issuer": _text,
    "directory_valid_days": _integer,
    "escrow_public_key": _optional(_hex),
    "storage_path": _optional(_path),
    "totp_key_path": _optional(_path),
    "intake_sync_url": _optional(_text),
    "intake_verify_key": _optional(_hex),
    "sync_warn_after_seconds": _integer,
    "redis_url": _optional(_text),
    "acknowledgement_sv": _text,
    "acknowledgement_en": _text,
}
