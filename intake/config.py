"""Intake configuration: one frozen, validated object handed to ``create_app``.

The demo and ``flask --app intake`` read it from ``instance/intake.json``; tests build
it directly. Nothing here is a secret that decrypts stored data: intake holds no such key.

Every field can be set in the file, under the name in :data:`FILE_KEYS` (the field's own
name but for the two paths). Each default is written once, on the field (or, for the
fields that code must always pass, in :data:`FILE_DEFAULTS`); :meth:`IntakeConfig.from_dict`
turns a mapping of file values into the config, refusing unknown names, wrong types and
out-of-range values with a :class:`ConfigError` that names the setting.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import crypto

CONFIG_FILE = "intake.json"
DEFAULT_AGENCIES = (
    "Arbetsförmedlingen",
    "Försäkringskassan",
    "Kommun",
    "Migrationsverket",
    "Polismyndigheten",
    "Region",
    "Skatteverket",
    "Trafikverket",
)


class ConfigError(Exception):
    """The configuration is missing something or holds an invalid value."""


@dataclass(frozen=True)
class IntakeConfig:
    """Everything the intake app needs to run."""

    instance_path: Path
    database_url: str
    storage_path: Path
    secret_key: bytes
    casework_verify_key: bytes
    directory_path: Path
    instance_salt: bytes
    argon2: crypto.Argon2Params = crypto.PRODUCTION
    # Argon2 derivations at once, per worker process (the gunicorn config runs one worker
    # per core): one slot keeps a flood of sign-ins from holding more than a core each.
    argon2_concurrency: int = 1
    argon2_wait_seconds: float = 2.0
    login_floor_seconds: float = 1.0
    max_file_bytes: int = 50 * 1024 * 1024
    max_files: int = 10
    max_request_bytes: int = 520 * 1024 * 1024
    max_text_chars: int = 20_000
    session_idle_seconds: int = 15 * 60
    # However active, a tipster session ends this long after sign-in: a cookie stolen or
    # left on a shared computer cannot be kept alive by use.
    session_absolute_seconds: int = 60 * 60
    csrf_seconds: int = 6 * 3600
    onion_address: str | None = None
    https: bool = False
    agencies: tuple[str, ...] = DEFAULT_AGENCIES
    default_locale: str = "sv"
    # The bridge: intake's own Ed25519 seed (signs sync responses), bounds per request.
    sync_signing_seed: bytes | None = None
    sync_batch_limit: int = 100
    sync_max_push_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise ConfigError("secret_key must be at least 32 bytes")
        if len(self.casework_verify_key) != 32:
            raise ConfigError("casework_verify_key must be 32 bytes (Ed25519)")
        if len(self.instance_salt) != 16:
            raise ConfigError("instance_salt must be 16 bytes")
        if not self.database_url:
            raise ConfigError("database_url must not be empty")
        for name in ("argon2_concurrency", "max_files", "max_text_chars", "csrf_seconds",
                     "max_request_bytes", "sync_batch_limit", "sync_max_push_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        # 0: a sign-in that finds every slot taken is refused at once (503), no queueing.
        if not 0 <= self.argon2_wait_seconds <= 3600:
            raise ConfigError("argon2_wait_seconds must be between 0 and 3600")
        if not 0 <= self.login_floor_seconds <= 60:
            raise ConfigError("login_floor_seconds must be between 0 and 60")
        if not 0 < self.max_file_bytes <= self.max_request_bytes:
            raise ConfigError("max_file_bytes must be positive and fit in max_request_bytes")
        if not 0 < self.session_idle_seconds <= self.session_absolute_seconds:
            raise ConfigError("session_idle_seconds must be positive and at most "
                              "session_absolute_seconds")
        if not self.agencies or not all(a.strip() for a in self.agencies):
            raise ConfigError("agencies must be a non-empty list of non-empty names")
        if len(set(self.agencies)) != len(self.agencies):
            raise ConfigError("agencies must not name an agency twice")
        if self.default_locale not in ("sv", "en"):
            raise ConfigError("default_locale must be sv or en")
        if self.sync_signing_seed is not None and len(self.sync_signing_seed) != 32:
            raise ConfigError("sync_signing_seed must be 32 bytes")
        if self.onion_address is not None and not self.onion_address.endswith(".onion"):
            raise ConfigError("onion_address must end in .onion")

    @classmethod
    def from_instance(cls, instance_path: Path) -> IntakeConfig:
        """Load ``intake.json`` from an instance folder (paths in it are relative to it)."""
        path = instance_path / CONFIG_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{path} not found: run `make demo` (or write the file) first"
            ) from exc
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} must hold a JSON object")
        return cls.from_dict(raw, instance_path)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], instance_path: Path) -> IntakeConfig:
        """Build a config from settings by their file names (JSON values; binary values
        are base64, paths relative to ``instance_path``). Settings left out keep their
        defaults. This is the one way in from outside code: a later layer (environment
        variables) only has to produce such a mapping and merge it over the file's.
        """
        unknown = sorted(set(raw) - set(FILE_KEYS.values()))
        if unknown:
            raise ConfigError(f"unknown setting(s) in intake configuration: "
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
                raise ConfigError(f"{key} is missing from the intake configuration")
        return cls(**values)


# --- reading settings from the file ----------------------------------------------------

Parser = Callable[[str, Any, Path], Any]


def _integer(key: str, value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number, not {value!r}")
    return value


def _number(key: str, value: Any, _: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise ConfigError(f"{key} must be a number, not {value!r}")
    return float(value)


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


def _argon2(key: str, value: Any, _: Path) -> crypto.Argon2Params:
    if not isinstance(value, dict) or set(value) != {"t", "m", "p"} or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        raise ConfigError(f'{key} must be {{"t": passes, "m": KiB, "p": lanes}} with whole '
                          f"numbers, not {value!r}")
    try:
        return crypto.Argon2Params.from_dict(value)
    except crypto.CryptoError as exc:
        raise ConfigError(f"{key}: {exc.__cause__ or exc}") from exc


def _names(key: str, value: Any, _: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of strings, not {value!r}")
    return tuple(value)


def _optional(parse: Parser) -> Parser:
    """null (or an empty string, as older files wrote) leaves the setting unset."""
    def parse_optional(key: str, value: Any, instance_path: Path) -> Any:
        return None if value is None or value == "" else parse(key, value, instance_path)
    return parse_optional


# Each field's name in the file (its own name unless listed here).
FILE_KEYS: dict[str, str] = {f.name: f.name for f in fields(IntakeConfig)} | {
    "storage_path": "storage", "directory_path": "directory"}
del FILE_KEYS["instance_path"]  # the folder the file is in

# Defaults of the fields that code must pass, for a file that leaves them out.
FILE_DEFAULTS: dict[str, Callable[[Path], Any]] = {
    "database_url": lambda instance: f"sqlite:///{instance / 'intake.sqlite'}",
    "storage_path": lambda instance: instance / "intake-storage",
    "directory_path": lambda instance: instance / "directory.signed",
}
_REQUIRED = ("secret_key", "casework_verify_key", "instance_salt")

_PARSERS: dict[str, Parser] = {
    "database_url": _text,
    "storage_path": _path,
    "secret_key": _base64,
    "casework_verify_key": _base64,
    "directory_path": _path,
    "instance_salt": _base64,
    "argon2": _argon2,
    "argon2_concurrency": _integer,
    "argon2_wait_seconds": _number,
    "login_floor_seconds": _number,
    "max_file_bytes": _integer,
    "max_files": _integer,
    "max_request_bytes": _integer,
    "max_text_chars": _integer,
    "session_idle_seconds": _integer,
    "session_absolute_seconds": _integer,
    "csrf_seconds": _integer,
    "onion_address": _optional(_text),
    "https": _boolean,
    "agencies": _names,
    "default_locale": _text,
    "sync_signing_seed": _optional(_base64),
    "sync_batch_limit": _integer,
    "sync_max_push_bytes": _integer,
}
