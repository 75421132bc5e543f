"""Intake configuration: one frozen, validated object handed to ``create_app``.

The demo and ``flask --app intake`` read it from ``instance/intake.json``; tests build
it directly. Nothing here is a secret that decrypts stored data: intake holds no such key.

Every field can be set in the file, under the name in :data:`FILE_KEYS` (the field's own
name but for the two paths). Each default is written once, on the field (or, for the
fields that code must always pass, in :data:`FILE_DEFAULTS`); :meth:`IntakeConfig.from_dict`
turns a mapping of file values into the config, refusing unknown names, wrong types and
out-of-range values with a :class:`ConfigError` that names the setting. The mechanism (reading
the file, the builder, the parsers, ConfigError itself) is :mod:`common.settings`, shared
with casework; here: the dataclass, its defaults and ranges, and its tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crypto
from common import settings
from common.settings import ConfigError as ConfigError  # re-exported: `except ConfigError`
from common.settings import Parser

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
    # The offline backup key's public half (docs/backups.md): `backup create` seals to it
    # and cannot open what it wrote. None: backups are refused.
    backup_public_key: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise ConfigError("secret_key must be at least 32 bytes")
        if len(self.casework_verify_key) != 32:
            raise ConfigError("casework_verify_key must be 32 bytes (Ed25519)")
        if len(self.instance_salt) != 16:
            raise ConfigError("instance_salt must be 16 bytes")
        if not self.database_url:
            raise ConfigError("database_url must not be empty")
        for name in ("argon2_concurrency", "max_files", "csrf_seconds",
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
        if self.backup_public_key is not None and len(self.backup_public_key) != 32:
            raise ConfigError("backup_public_key must be 32 bytes")
        if self.onion_address is not None and not self.onion_address.endswith(".onion"):
            raise ConfigError("onion_address must end in .onion")

    @classmethod
    def from_instance(cls, instance_path: Path,
                      environ: Mapping[str, str] | None = None) -> IntakeConfig:
        """Load ``intake.json`` from an instance folder, with the ``LYKTA_INTAKE_*``
        variables of ``environ`` (default: this process's) over it (common.environment;
        the file may then be absent). Paths are relative to the instance folder."""
        raw, labels = settings.load(instance_path / CONFIG_FILE, "intake", FILE_KEYS,
                                    _PARSERS, environ)
        return cls.from_dict(raw, instance_path, labels=labels)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], instance_path: Path,
                  labels: Mapping[str, str] | None = None) -> IntakeConfig:
        """Build a config from settings by their file names (JSON values, as in the
        file; paths relative to ``instance_path``). Settings left out keep their
        defaults. This is the one way in from outside code; ``labels`` name the
        environment variables settings came from, for messages."""
        return settings.build(cls, raw, instance_path, keys=FILE_KEYS, parsers=_PARSERS,
                              defaults=FILE_DEFAULTS, required=_REQUIRED, app="intake",
                              labels=labels)


# Each field's name in the file (its own name unless listed here).
FILE_KEYS = settings.file_keys(IntakeConfig, {"storage_path": "storage",
                                              "directory_path": "directory"})

# Defaults of the fields that code must pass, for a file that leaves them out.
FILE_DEFAULTS: dict[str, Callable[[Path], Any]] = {
    "database_url": lambda instance: f"sqlite:///{instance / 'intake.sqlite'}",
    "storage_path": lambda instance: instance / "intake-storage",
    "directory_path": lambda instance: instance / "directory.signed",
}
_REQUIRED = ("secret_key", "casework_verify_key", "instance_salt")

_PARSERS: dict[str, Parser] = {
    "database_url": settings.text,
    "storage_path": settings.path,
    "secret_key": settings.base64_bytes,
    "casework_verify_key": settings.base64_bytes,
    "directory_path": settings.path,
    "instance_salt": settings.base64_bytes,
    "argon2": settings.argon2,
    "argon2_concurrency": settings.integer,
    "argon2_wait_seconds": settings.number,
    "login_floor_seconds": settings.number,
    "max_file_bytes": settings.integer,
    "max_files": settings.integer,
    "max_request_bytes": settings.integer,
    "session_idle_seconds": settings.integer,
    "session_absolute_seconds": settings.integer,
    "csrf_seconds": settings.integer,
    "onion_address": settings.optional(settings.text),
    "https": settings.boolean,
    "agencies": settings.names,
    "default_locale": settings.text,
    "sync_signing_seed": settings.optional(settings.base64_bytes),
    "sync_batch_limit": settings.integer,
    "sync_max_push_bytes": settings.integer,
    "backup_public_key": settings.optional(settings.hex_bytes),
}
