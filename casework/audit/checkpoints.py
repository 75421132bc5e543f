"""Signed checkpoints of the chain, and the head file outside the database.

The chain alone proves order, not authorship: whoever can write the database can rebuild
every hash after an edit. So at the end of every unit of work that appended entries, the
new head (seq and hash) is signed with an Ed25519 key that is NOT in the database (a
file in the instance folder by default, ``audit_signing_key_path``) and stored as an
:class:`~casework.models.AuditCheckpoint`, in the same transaction as the entries.

Deleting the newest entries together with their checkpoints would still leave a shorter,
valid chain. Hence the head file (``<instance>/audit-head.json``): after each commit the
newest signed head is also written there, atomically and never backwards, and
``audit verify`` checks the chain reaches it. Publishing the head (``audit head``) puts a
copy beyond anyone's reach.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

import crypto
from common.db import Database
from common.startup import create_private_once

from ..config import CaseworkConfig
from ..models import AuditCheckpoint
from ..models.base import utcnow
from . import chain

log = logging.getLogger("lykta.casework.audit")
PURPOSE = b"lykta-audit-checkpoint-v1\n"
_SIGNED_KEY = "lykta.audit.signed"


@dataclass(frozen=True)
class SignedHead:
    """A head and its signature, as stored, written to the head file and published."""

    seq: int
    hash: bytes
    signature: bytes
    verify_key: bytes
    signed_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """The published form (hex, ISO time)."""
        return {"seq": self.seq, "hash": self.hash.hex(), "signature": self.signature.hex(),
                "verify_key": self.verify_key.hex(),
                "signed_at": chain.iso(self.signed_at) + "Z"}

    @classmethod
    def from_json(cls, raw: object) -> SignedHead:
        """Parse the published form; ValueError if it is not one."""
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        try:
            seq = raw["seq"]
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                raise ValueError("seq")
            signed_at = dt.datetime.fromisoformat(str(raw["signed_at"]).rstrip("Z"))
            return cls(seq, bytes.fromhex(raw["hash"]), bytes.fromhex(raw["signature"]),
                       bytes.fromhex(raw["verify_key"]), signed_at)
        except (KeyError, TypeError) as exc:
            raise ValueError("missing or wrong field") from exc


def signed_bytes(seq: int, head_hash: bytes) -> bytes:
    """What a checkpoint's signature covers: purpose, seq (u64 big-endian), head hash."""
    return PURPOSE + struct.pack(">Q", seq) + head_hash


def key_id(verify_key: crypto.VerifyKey) -> str:
    """A checkpoint's key id: the verify key itself, in hex (64 characters)."""
    return verify_key.raw.hex()


def ensure_signing_key(path: Path) -> None:
    """Create the audit signing key (a 32-byte Ed25519 seed, 0600) unless it exists.

    Never half-written nor replaced while in use (``create_private_once``); an existing
    file is tightened to 0600, as its contents let anyone sign checkpoints.
    """
    if path.exists():
        path.chmod(0o600)
        return
    create_private_once(path, lambda: crypto.SigningKey.generate().seed())


def load_signing_key(path: Path) -> crypto.SigningKey:
    """The audit signing key, read from its file on each use (never kept in a global)."""
    return crypto.SigningKey.from_seed(path.read_bytes())


def sign_head(key: crypto.SigningKey, head: chain.Head,
              at: dt.datetime | None = None) -> SignedHead:
    """Sign ``head`` with ``key``."""
    return SignedHead(head.seq, head.hash, key.sign(signed_bytes(head.seq, head.hash)),
                      key.verify_key.raw, at or utcnow())


def checkpoint_row(signed: SignedHead) -> AuditCheckpoint:
    """The row that stores ``signed``."""
    return AuditCheckpoint(seq=signed.seq, hash=signed.hash, signature=signed.signature,
                           key_id=signed.verify_key.hex(), signed_at=signed.signed_at)


def signature_holds(verify_key: crypto.VerifyKey, seq: int, head_hash: bytes,
                    signature: bytes) -> bool:
    """True if ``signature`` is ``verify_key``'s over (seq, head_hash)."""
    try:
        verify_key.verify(signed_bytes(seq, head_hash), signature)
    except crypto.CryptoError:
        return False
    return True


# --- the head file ---------------------------------------------------------------------


@contextlib.contextmanager
def _head_file_lock(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_head_file(path: Path) -> SignedHead | None:
    """The head file's signed head (None if there is no file); ValueError if unreadable."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return SignedHead.from_json(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc


def write_head_file(path: Path, signed: SignedHead) -> None:
    """Replace the head file with ``signed``, atomically, unless it already names a later
    head: commits of parallel workers may finish in any order, and the file must never go
    backwards (it is the lower bound that catches a truncated chain)."""
    with _head_file_lock(path):
        try:
            current = read_head_file(path)
        except ValueError:
            current = None  # an unreadable file is replaced; verify reported it already
        if current is not None and current.seq >= signed.seq:
            return
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(signed.to_json(), file, sort_keys=True)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


# --- signing at the end of every unit that appended ------------------------------------


def install(db: Database, config: CaseworkConfig) -> None:
    """Sign a checkpoint in every transaction of ``db`` that appended entries (just before
    it commits, so it commits with them), and write the head file once it has."""

    def before_commit(session: Session) -> None:
        head = chain.appended_head(session)
        chain.forget_appended(session)
        if head is None:
            return
        # The key is read from its file here: a missing or unreadable key makes the
        # commit fail, so no action commits without its signed entry.
        signed = sign_head(load_signing_key(config.audit_signing_key_file), head)
        session.add(checkpoint_row(signed))
        session.flush()
        session.info[_SIGNED_KEY] = signed

    def after_commit(session: Session) -> None:
        signed: SignedHead | None = session.info.pop(_SIGNED_KEY, None)
        if signed is not None:
            try:
                write_head_file(config.audit_head_file, signed)
            except OSError as exc:
                # The action and its signed entry have committed; a head file that lags
                # is still a valid lower bound. Said loudly (type only), not raised.
                log.warning("audit: could not write the head file: %s", type(exc).__name__)

    def after_rollback(session: Session) -> None:
        chain.forget_appended(session)
        session.info.pop(_SIGNED_KEY, None)

    event.listen(db.sessions, "before_commit", before_commit)
    event.listen(db.sessions, "after_commit", after_commit)
    event.listen(db.sessions, "after_soft_rollback",
                 lambda session, _previous: after_rollback(session))
