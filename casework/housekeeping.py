"""Start-up and periodic care of account state: a private instance folder, the TOTP
sealing key, plaintext TOTP secrets sealed, and expired rows swept away.

Run at every start (``create_app``, through :func:`casework.web.install`), after each
sign-in (sweep only), and by ``flask --app casework sessions sweep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from common.db import Database

from . import lockout, totp
from .config import CaseworkConfig
from .enrolment import seal_plaintext_totp_secrets, sweep_enrolments
from .sessions import sweep_expired_sessions

# The instance folder holds the database (password hashes, wrapped keys, sealed TOTP
# secrets), the signing key and the TOTP key: nobody but the service account reads it.
PRIVATE_DIRECTORY = 0o700


@dataclass(frozen=True)
class Swept:
    """How many expired rows of each kind were deleted."""

    sessions: int
    enrolments: int
    unknown_names: int


def secure_instance(config: CaseworkConfig) -> None:
    """Make the instance folder owner-only and create the TOTP key (0600) if missing."""
    _private_directory(config.instance_path)
    _private_directory(config.totp_key_file.parent)
    totp.ensure_key(config.totp_key_file)
    config.totp_key_file.chmod(0o600)


def _private_directory(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    path.chmod(PRIVATE_DIRECTORY)


def sweep(session: Session, config: CaseworkConfig) -> Swept:
    """Delete expired sessions (and their locked keys), enrolments and old counters."""
    return Swept(sweep_expired_sessions(session, config), sweep_enrolments(session),
                 lockout.forget_old_failures(session, config))


def prepare(db: Database, config: CaseworkConfig) -> None:
    """Everything start-up does for accounts (idempotent; safe for parallel workers)."""
    secure_instance(config)
    with db.session() as session:
        seal_plaintext_totp_secrets(session, config)
        sweep(session, config)
