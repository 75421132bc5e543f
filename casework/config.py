"""Casework configuration: one frozen, validated object handed to ``create_app``.

``flask --app casework``, the demo and the rq worker read it from
``instance/casework.json``; tests build it directly. Every field can be set in the file,
under the name in :data:`FILE_KEYS` (the field's own name but for the three paths). Each
default is written once, on the field (or, for the fields that code must always pass, in
:data:`FILE_DEFAULTS`); :meth:`CaseworkConfig.from_dict` turns a mapping of file values
into the config, refusing unknown names, wrong types and out-of-range values with a
:class:`ConfigError` that names the setting. In the file, paths are relative to the
instance folder, ``secret_key`` is base64, the two public keys are hex, and ``argon2`` is
``{"t": passes, "m": KiB, "p": lanes}``. The mechanism (reading the file, the builder, the
parsers, ConfigError itself) is :mod:`common.settings`, shared with intake; here: the
dataclass, its defaults and ranges, and its tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crypto
from common import settings
from common.settings import ConfigError as ConfigError  # re-exported: `except ConfigError`
from common.settings import Parser

CONFIG_FILE = "casework.json"


@dataclass(frozen=True)
class ReferralAuthority:
    """An external authority a case may be referred to: a short code (stored in the
    escalation row, counted by statistics, told to the tipster) and its public names."""

    code: str
    name_sv: str
    name_en: str


# Swedish authorities that take referrals of the kinds of report Lykta receives.
# Act 2021:890: personal data in a case is cleared at the latest two years after closing.
MAX_RETENTION_DAYS = 730

DEFAULT_REFERRAL_AUTHORITIES: tuple[ReferralAuthority, ...] = (
    ReferralAuthority("jo", "Justitieombudsmannen (JO)", "Parliamentary Ombudsmen (JO)"),
    ReferralAuthority("riksrevisionen", "Riksrevisionen", "Swedish National Audit Office"),
    ReferralAuthority("aklagarmyndigheten", "Åklagarmyndigheten",
                      "Swedish Prosecution Authority"),
    ReferralAuthority("ekobrottsmyndigheten", "Ekobrottsmyndigheten",
                      "Swedish Economic Crime Authority"),
    ReferralAuthority("arbetsmiljoverket", "Arbetsmiljöverket",
                      "Swedish Work Environment Authority"),
    ReferralAuthority("imy", "Integritetsskyddsmyndigheten (IMY)",
                      "Swedish Authority for Privacy Protection (IMY)"),
    ReferralAuthority("polisen", "Polismyndigheten", "Swedish Police Authority"),
)
# A code fits the escalation row's destination column and reads well in statistics.
AUTHORITY_CODE = re.compile(r"[a-z0-9-]{1,32}")


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
    # The Ed25519 key that signs the audit log's checkpoints. Default: audit-signing.seed
    # in the instance folder, created (0600) at the first start. Never in the database:
    # whoever can write the database must not be able to sign a rewritten chain. Better
    # still on a mount the database's administrators cannot read (docs/audit.md).
    audit_signing_key_path: Path | None = None
    # The newest signed chain head, written after every commit that appended (default:
    # audit-head.json in the instance folder): catches entries truncated together with
    # their checkpoints.
    audit_head_path: Path | None = None
    # The bridge: where intake's sync app listens (internal interface) and its pinned key.
    intake_sync_url: str | None = None
    intake_verify_key: bytes | None = None
    # TLS on the sync link (ops/README.md, "TLS for the sync link"): the internal CA that
    # signs intake's sync certificate (None: the system's trusted CAs; the host name is
    # checked either way), and casework's client certificate with its key in one PEM file,
    # which nginx in front of the sync app asks for (None: none is shown).
    intake_sync_ca_path: Path | None = None
    intake_sync_client_cert_path: Path | None = None
    sync_warn_after_seconds: int = 3600
    # How often ``jobs schedule`` queues a bridge cycle (casework/jobs/schedule.py).
    bridge_interval_seconds: int = 60
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
    # The external authorities a unit lead may refer a case to (casework.escalation).
    referral_authorities: tuple[ReferralAuthority, ...] = DEFAULT_REFERRAL_AUTHORITIES
    # Import sends the acknowledgement at once (and moves the case to "acknowledged"); with
    # false, a reader acknowledges by hand within the 7 days, and the reminders say when.
    acknowledge_automatically: bool = True
    # --- Casework III -----------------------------------------------------------------
    # Oral reports: intake's receipt salt (hex, 16 bytes; intake.json's instance_salt) and
    # its Argon2id cost, so that casework derives a new receipt's lookup token and tipster
    # key exactly as intake will when the reporter signs in. Without it, oral reports are
    # off (the page says so).
    intake_receipt_salt: bytes | None = None
    intake_receipt_argon2: crypto.Argon2Params = crypto.PRODUCTION
    # Deadline reminders by e-mail (casework.deadlines): no SMTP host, no e-mail. The
    # password is read from a file (never in casework.json); the link in each message is
    # public_url (the casework address staff use); messages hold counts and a link only.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password_path: Path | None = None
    mail_from: str = "lykta@localhost"
    public_url: str | None = None
    acknowledge_reminder_days: int = 2  # before the 7-day acknowledgement deadline
    feedback_reminder_days: int = 14  # before the 3- (or 6-) month feedback deadline
    # Retention (Act 2021:890): content purged this many days after a case concludes, at
    # most 730 (two years); a unit may set fewer. archive_path: where a purge first writes
    # the case's sealed envelopes for the authority's archive (official records), if the
    # archiving rules say they are kept; None: purge without an archive copy.
    retention_days: int = 730
    archive_path: Path | None = None
    # --- KOF statistics (casework.statistics) ----------------------------------------
    # No released cell counts fewer than statistics_k cases (3 or more; statistics
    # offices use 3 or 5). statistics_protection: the least width of the interval an
    # attacker solving the published table (linear programming) can narrow a suppressed
    # cell to. statistics_api_per_minute: requests one API token may make per minute.
    statistics_k: int = 5
    statistics_protection: int = 5
    statistics_api_per_minute: int = 60
    # The offline backup key's public half (docs/backups.md): `backup create` seals to it
    # and cannot open what it wrote. None: backups are refused.
    backup_public_key: bytes | None = None

    @property
    def totp_key_file(self) -> Path:
        """Where the TOTP sealing key is kept."""
        return self.totp_key_path or self.instance_path / "totp.key"

    @property
    def audit_signing_key_file(self) -> Path:
        """Where the audit log's checkpoint signing key is kept."""
        return self.audit_signing_key_path or self.instance_path / "audit-signing.seed"

    @property
    def audit_head_file(self) -> Path:
        """Where the newest signed head of the audit log is written."""
        return self.audit_head_path or self.instance_path / "audit-head.json"

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
                     "directory_valid_days", "sync_warn_after_seconds",
                     "bridge_interval_seconds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.lockout_max_seconds < self.lockout_base_seconds:
            raise ConfigError("lockout_max_seconds must be at least lockout_base_seconds")
        if self.failure_memory_seconds <= self.lockout_max_seconds:
            raise ConfigError("failure_memory_seconds must exceed lockout_max_seconds")
        if not self.totp_issuer.strip() or ":" in self.totp_issuer:
            raise ConfigError("totp_issuer must be a non-empty name without a colon "
                              "(authenticator apps read the colon as a separator)")
        for name in ("escrow_public_key", "intake_verify_key", "backup_public_key"):
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
        if self.intake_receipt_salt is not None and len(self.intake_receipt_salt) != 16:
            raise ConfigError("intake_receipt_salt must be 16 bytes")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError("smtp_port must be between 1 and 65535")
        for name in ("acknowledge_reminder_days", "feedback_reminder_days"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ConfigError(f"retention_days must be between 1 and {MAX_RETENTION_DAYS} "
                              "(Act 2021:890: personal data at most two years after closing)")
        if self.statistics_k < 3:
            raise ConfigError("statistics_k must be at least 3")
        if self.statistics_protection < 1 or self.statistics_api_per_minute < 1:
            raise ConfigError("statistics_protection and statistics_api_per_minute must be "
                              "at least 1")
        if self.public_url is not None and not self.public_url.startswith(
                ("http://", "https://")):
            raise ConfigError("public_url must start with http:// or https://")
        if "@" not in self.mail_from:
            raise ConfigError("mail_from must be an e-mail address")
        codes = [a.code for a in self.referral_authorities]
        if len(set(codes)) != len(codes) or not all(
                AUTHORITY_CODE.fullmatch(a.code) and a.name_sv.strip() and a.name_en.strip()
                for a in self.referral_authorities):
            raise ConfigError("referral_authorities must have distinct codes of 1 to 32 "
                              "lower-case letters, digits or hyphens, and non-empty names")

    def referral_authority(self, code: str) -> ReferralAuthority | None:
        """The configured authority with ``code``, if there is one."""
        return next((a for a in self.referral_authorities if a.code == code), None)

    @classmethod
    def from_instance(cls, instance_path: Path,
                      environ: Mapping[str, str] | None = None) -> CaseworkConfig:
        """Load ``casework.json`` from an instance folder, with the ``LYKTA_CASEWORK_*``
        variables of ``environ`` (default: this process's) over it (common.environment;
        the file may then be absent). Paths are relative to the instance folder."""
        raw, labels = settings.load(instance_path / CONFIG_FILE, "casework", FILE_KEYS,
                                    _PARSERS, environ)
        return cls.from_dict(raw, instance_path, labels=labels)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], instance_path: Path,
                  labels: Mapping[str, str] | None = None) -> CaseworkConfig:
        """Build a config from settings by their file names (JSON values, as in the
        file; paths relative to ``instance_path``). Settings left out keep their
        defaults. This is the one way in from outside code; ``labels`` name the
        environment variables settings came from, for messages."""
        return settings.build(cls, raw, instance_path, keys=FILE_KEYS, parsers=_PARSERS,
                              defaults=FILE_DEFAULTS, required=_REQUIRED, app="casework",
                              labels=labels)


# Each field's name in the file (its own name unless listed here).
FILE_KEYS = settings.file_keys(CaseworkConfig, {
    "signing_key_path": "signing_key", "totp_key_path": "totp_key", "storage_path": "storage",
    "audit_signing_key_path": "audit_signing_key", "audit_head_path": "audit_head",
    "smtp_password_path": "smtp_password_file", "archive_path": "archive",
    "intake_sync_ca_path": "intake_sync_ca_file",
    "intake_sync_client_cert_path": "intake_sync_client_cert"})

# Defaults of the fields that code must pass, for a file that leaves them out.
FILE_DEFAULTS: dict[str, Callable[[Path], Any]] = {
    "database_url": lambda instance: f"sqlite:///{instance / 'casework.sqlite'}",
    "signing_key_path": lambda instance: instance / "casework-signing.seed",
}
_REQUIRED = ("secret_key",)


def _authorities(key: str, value: Any, _: Path) -> tuple[ReferralAuthority, ...]:
    """A list of ``{"code", "name_sv", "name_en"}`` objects with string values (the
    dataclass judges the strings). The refusal names the setting, never a value."""
    fields_ = {"code", "name_sv", "name_en"}
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and set(item) == fields_
            and all(isinstance(v, str) for v in item.values()) for item in value):
        raise ConfigError(f'{key} must be a list of {{"code", "name_sv", "name_en"}} objects '
                          "with text values")
    return tuple(ReferralAuthority(item["code"], item["name_sv"], item["name_en"])
                 for item in value)


_PARSERS: dict[str, Parser] = {
    "database_url": settings.text,
    "secret_key": settings.base64_bytes,
    "signing_key_path": settings.path,
    "argon2": settings.argon2,
    "session_idle_seconds": settings.integer,
    "session_absolute_seconds": settings.integer,
    "lockout_threshold": settings.integer,
    "lockout_base_seconds": settings.integer,
    "lockout_max_seconds": settings.integer,
    "failure_memory_seconds": settings.integer,
    "enrolment_seconds": settings.integer,
    "https": settings.boolean,
    "totp_issuer": settings.text,
    "directory_valid_days": settings.integer,
    "escrow_public_key": settings.optional(settings.hex_bytes),
    "storage_path": settings.optional(settings.path),
    "totp_key_path": settings.optional(settings.path),
    "audit_signing_key_path": settings.optional(settings.path),
    "audit_head_path": settings.optional(settings.path),
    "intake_sync_url": settings.optional(settings.text),
    "intake_verify_key": settings.optional(settings.hex_bytes),
    "intake_sync_ca_path": settings.optional(settings.path),
    "intake_sync_client_cert_path": settings.optional(settings.path),
    "sync_warn_after_seconds": settings.integer,
    "bridge_interval_seconds": settings.integer,
    "redis_url": settings.optional(settings.text),
    "acknowledgement_sv": settings.text,
    "acknowledgement_en": settings.text,
    "referral_authorities": _authorities,
    "acknowledge_automatically": settings.boolean,
    "intake_receipt_salt": settings.optional(settings.hex_bytes),
    "intake_receipt_argon2": settings.argon2,
    "smtp_host": settings.optional(settings.text),
    "smtp_port": settings.integer,
    "smtp_starttls": settings.boolean,
    "smtp_username": settings.optional(settings.text),
    "smtp_password_path": settings.optional(settings.path),
    "mail_from": settings.text,
    "public_url": settings.optional(settings.text),
    "acknowledge_reminder_days": settings.integer,
    "feedback_reminder_days": settings.integer,
    "retention_days": settings.integer,
    "archive_path": settings.optional(settings.path),
    "statistics_k": settings.integer,
    "statistics_protection": settings.integer,
    "statistics_api_per_minute": settings.integer,
    "backup_public_key": settings.optional(settings.hex_bytes),
}
