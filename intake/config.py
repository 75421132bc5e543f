"""Intake configuration: one frozen, validated object handed to ``create_app``.

The demo and ``flask --app intake`` read it from ``instance/intake.json``; tests build
it directly. Nothing here is a secret that decrypts stored data: intake holds no such key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import MISSING, dataclass, field, fields
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
    extra: dict[str, Any] = field(default_factory=dict)
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
        if self.argon2_concurrency < 1:
            raise ConfigError("argon2_concurrency must be at least 1")
        if not 0 < self.max_file_bytes <= self.max_request_bytes:
            raise ConfigError("max_file_bytes must be positive and fit in max_request_bytes")
        if not 0 < self.session_idle_seconds <= self.session_absolute_seconds:
            raise ConfigError("session_idle_seconds must be positive and at most "
                              "session_absolute_seconds")
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
        return cls.from_dict(raw, instance_path)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], instance_path: Path) -> IntakeConfig:
        """Build a config from parsed JSON (binary values are base64)."""
        def b64(name: str) -> bytes:
            try:
                return base64.b64decode(raw[name], validate=True)
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"{name} is missing or not base64") from exc

        # Defaults are written once, on the fields above; a file may override each.
        defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}

        def setting(name: str) -> Any:
            return raw.get(name, defaults[name])

        def path(name: str, default: str) -> Path:
            return instance_path / str(raw.get(name, default))

        try:
            return cls(
                instance_path=instance_path,
                database_url=raw.get("database_url")
                or f"sqlite:///{instance_path / 'intake.sqlite'}",
                storage_path=path("storage", "intake-storage"),
                secret_key=b64("secret_key"),
                casework_verify_key=b64("casework_verify_key"),
                directory_path=path("directory", "directory.signed"),
                instance_salt=b64("instance_salt"),
                argon2=crypto.Argon2Params.from_dict(raw["argon2"])
                if "argon2" in raw else crypto.PRODUCTION,
                argon2_concurrency=int(setting("argon2_concurrency")),
                argon2_wait_seconds=float(setting("argon2_wait_seconds")),
                login_floor_seconds=float(setting("login_floor_seconds")),
                max_file_bytes=int(setting("max_file_bytes")),
                max_files=int(setting("max_files")),
                max_request_bytes=int(setting("max_request_bytes")),
                session_idle_seconds=int(setting("session_idle_seconds")),
                session_absolute_seconds=int(setting("session_absolute_seconds")),
                csrf_seconds=int(setting("csrf_seconds")),
                onion_address=raw.get("onion_address"),
                https=bool(setting("https")),
                agencies=tuple(setting("agencies")),
                sync_signing_seed=b64("sync_signing_seed") if "sync_signing_seed" in raw
                else None,
            )
        except (TypeError, ValueError, crypto.CryptoError) as exc:
            raise ConfigError(f"invalid intake configuration: {exc}") from exc
