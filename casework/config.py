"""Casework configuration: one frozen, validated object handed to ``create_app``."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
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
        if len(self.secret_key) < 32:
            raise ConfigError("secret_key must be at least 32 bytes")
        if not 0 < self.session_idle_seconds <= self.session_absolute_seconds:
            raise ConfigError("the idle timeout must be positive and within the absolute one")
        if self.escrow_public_key is not None and len(self.escrow_public_key) != 32:
            raise ConfigError("escrow_public_key must be 32 bytes")
        if self.lockout_threshold < 1:
            raise ConfigError("lockout_threshold must be at least 1")
        if self.failure_memory_seconds <= self.lockout_max_seconds:
            raise ConfigError("failure_memory_seconds must exceed lockout_max_seconds")

    @classmethod
    def from_instance(cls, instance_path: Path) -> CaseworkConfig:
        """Load ``casework.json`` from an instance folder."""
        path = instance_path / CONFIG_FILE
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{path} not found: run `make demo` (or write the file)") from exc
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON") from exc
        try:
            return cls(
                instance_path=instance_path,
                database_url=raw.get("database_url")
                or f"sqlite:///{instance_path / 'casework.sqlite'}",
                secret_key=base64.b64decode(raw["secret_key"], validate=True),
                signing_key_path=instance_path / raw.get("signing_key", "casework-signing.seed"),
                argon2=crypto.Argon2Params.from_dict(raw["argon2"])
                if "argon2" in raw else crypto.PRODUCTION,
                https=bool(raw.get("https", True)),
                totp_key_path=instance_path / raw["totp_key"] if raw.get("totp_key") else None,
                escrow_public_key=bytes.fromhex(raw["escrow_public_key"])
                if raw.get("escrow_public_key") else None,
                intake_sync_url=raw.get("intake_sync_url"),
                redis_url=raw.get("redis_url"),
                intake_verify_key=bytes.fromhex(raw["intake_verify_key"])
                if raw.get("intake_verify_key") else None,
                acknowledgement_sv=str(raw.get("acknowledgement_sv") or cls.acknowledgement_sv),
                acknowledgement_en=str(raw.get("acknowledgement_en") or cls.acknowledgement_en),
            )
        except (KeyError, TypeError, ValueError, crypto.CryptoError) as exc:
            raise ConfigError(f"invalid casework configuration: {exc}") from exc
