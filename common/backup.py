"""Encrypted backups of one app: every table, the envelope store and the key files a
restore needs, as one stream sealed to the offline backup key (docs/backups.md).

The stream (``crypto.backup``: sealed to ``backup_public_key``, authenticated chunk by
chunk, FINAL-tagged) carries *records*: one byte of kind, a 4-byte big-endian length and
the payload.

========  ==================================================================
``H``     header, JSON: format, version, app, database revision, when, dialect,
          fingerprints of the settings the data depends on
``T``     a table begins, JSON: ``{"name", "columns"}``
``R``     one row of it, JSON: a list of typed values (:func:`encode_value`)
``F``     a file begins, JSON: ``{"area": "store" | "instance", "name"}``
``D``     the file's next piece (raw bytes, at most 64 KiB)
``E``     the trailer, JSON: rows per table, bytes per file and the SHA-256 of every
          record before it; nothing may follow
========  ==================================================================

Tables are read through SQLAlchemy, reflected from the database itself (so every table
is in, ``alembic_version`` too), in foreign-key order and each by its primary key, all in
one read transaction: REPEATABLE READ on PostgreSQL (pg_dump's snapshot), one deferred
transaction on SQLite (WAL gives it a snapshot at its first read). Nothing of the backup
is ever written to disk in the clear: rows and files go straight into the sealed stream.
Restoring is :mod:`common.backup_restore`.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import struct
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, select, text

import crypto
from crypto.backup import BackupWriter

from .storage import is_envelope_id

FORMAT = "lykta-backup"
FORMAT_VERSION = 1
PIECE = 64 * 1024
MAX_RECORD = 256 * 1024 * 1024  # a row or a piece; bounds what a hostile stream allocates
ROWS_PER_READ = 1000
_LENGTH = struct.Struct(">I")
_BEGIN = "lykta_backup_begin"
AREAS = ("store", "instance")


class BackupError(Exception):
    """A backup or restore refused, with a message for the operator (never a value)."""


class PartlyRestored(BackupError):
    """The rows committed but the files could not all be moved into place."""


@dataclass(frozen=True)
class BackupSource:
    """What one app backs up and restores (built by ``intake/cli_backup.py`` and
    ``casework/cli_backup.py``)."""

    app: str
    database_url: str
    store: Path
    public_key: bytes | None
    # Key files of the instance folder a restore needs, by the name the backup gives them.
    instance_files: Mapping[str, Path] = field(default_factory=dict)
    # Digests of settings the stored data depends on (intake's instance_salt): a restore
    # refuses a target configured otherwise, where the data would be useless.
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    # Tables the app fills at start-up (intake's directory_state): a fresh target has
    # rows there; the restore replaces them with the backup's.
    startup_tables: frozenset[str] = frozenset()
    # The store's bodies the database names (read in the backup's snapshot).
    referenced_bodies: Callable[[Connection], set[str]] | None = None
    # Run once a backup file is written and synced (casework appends its audit entry);
    # returns notes. A failure removes the file: no backup without its record.
    after_create: Callable[[Summary], list[str]] | None = None
    # Run after a restore has committed and its files are in place; returns notes.
    after_restore: Callable[[Summary], list[str]] | None = None


@dataclass(frozen=True)
class Sealed:
    """A backup file as bytes: its size and the SHA-256 of the sealed bytes (hex).

    What names one backup in casework's audit log and in the operator's notes: it can be
    recomputed from the file by anyone (``sha256sum``) and says nothing of its content.
    """

    size: int
    sha256: str


class Tally:
    """Counts and hashes the bytes written to, or read from, ``stream``."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes, /) -> int:
        self._digest.update(data)
        self._size += len(data)
        return self._stream.write(data)

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._digest.update(data)
        self._size += len(data)
        return data

    def sealed(self) -> Sealed:
        return Sealed(self._size, self._digest.hexdigest())


@dataclass
class Summary:
    """What a backup holds (or a restore loaded)."""

    app: str
    revision: str
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    missing_bodies: int = 0
    notes: list[str] = field(default_factory=list)
    sealed: Sealed | None = None  # the file written (create) or read (restore)


def fingerprint(value: bytes) -> str:
    """A setting's digest for :attr:`BackupSource.fingerprints` (inside the sealed stream)."""
    return hashlib.sha256(b"lykta-backup-fingerprint\n" + value).hexdigest()


# --- typed values ----------------------------------------------------------------------


def encode_value(value: object) -> object:
    """A column value as JSON: null, booleans, numbers and text as they are; bytes, times,
    dates and decimals as one-key objects that say their type."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"n": str(value)}
    raise BackupError(f"a column holds a value of a type backups do not know "
                      f"({type(value).__name__})")


def decode_value(raw: object) -> object:
    """The inverse of :func:`encode_value`; ValueError for anything else."""
    if raw is None or isinstance(raw, bool | int | float | str):
        return raw
    if isinstance(raw, dict) and len(raw) == 1:
        ((kind, value),) = raw.items()
        if isinstance(value, str):
            if kind == "b":
                return base64.b64decode(value, validate=True)
            if kind == "t":
                return dt.datetime.fromisoformat(value)
            if kind == "d":
                return dt.date.fromisoformat(value)
            if kind == "n":
                return decimal.Decimal(value)
    raise ValueError("not a typed value")


# --- engines and the snapshot ----------------------------------------------------------


def engine_for(url: str) -> Engine:
    """An engine of the backup's own: on SQLite the driver's transaction handling is off
    and BEGIN is ours, so a read transaction really is one (pysqlite would otherwise
    run each SELECT on its own) and a restore takes the write lock at once."""
    if not url.startswith("sqlite"):
        return create_engine(url, hide_parameters=True)
    engine = create_engine(url, hide_parameters=True, connect_args={"timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _connect(connection: Any, _record: object) -> None:
        connection.isolation_level = None
        connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN, "BEGIN"))

    return engine


def write_transaction(engine: Engine) -> Connection:
    """A connection whose transaction takes SQLite's write lock at BEGIN."""
    return engine.connect().execution_options(**{_BEGIN: "BEGIN IMMEDIATE"})


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that sees one consistent state of the whole database."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ",
                                                      postgresql_readonly=True)
        with connection.begin():
            yield connection


def read_revision(connection: Connection) -> str:
    """The database's Alembic revision (one head)."""
    revisions = list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    if len(revisions) != 1:
        raise BackupError("the database has no single Alembic revision: migrate it first")
    return str(revisions[0])


def reflect(connection: Connection) -> MetaData:
    """Every table of the database as it is, in foreign-key order (``sorted_tables``)."""
    metadata = MetaData()
    metadata.reflect(connection)
    return metadata


# --- writing ---------------------------------------------------------------------------


class _Sink:
    """Records into the sealed stream, counted and digested for the trailer."""

    def __init__(self, writer: BackupWriter) -> None:
        self.writer = writer
        self.digest = hashlib.sha256()

    def record(self, kind: bytes, payload: bytes) -> None:
        data = kind + _LENGTH.pack(len(payload)) + payload
        self.digest.update(data)
        self.writer.write(data)

    def json(self, kind: bytes, value: object) -> None:
        self.record(kind, _dumps(value))

    def file(self, area: str, name: str, file: BinaryIO) -> int:
        self.json(b"F", {"area": area, "name": name})
        size = 0
        while piece := file.read(PIECE):
            self.record(b"D", piece)
            size += len(piece)
        return size


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      sort_keys=True).encode("utf-8")


def create_backup(source: BackupSource, out: BinaryIO,
                  now: dt.datetime | None = None) -> Summary:
    """Write a sealed backup of ``source`` to ``out``; return what it holds."""
    if source.public_key is None:
        raise BackupError(f"backup_public_key is not set in {source.app}'s configuration: "
                          f"make a key with `flask --app {source.app} backup init-key` and "
                          "put the public key it prints there")
    tally = Tally(out)
    sink = _Sink(BackupWriter(tally, crypto.PublicKey(source.public_key)))
    engine = engine_for(source.database_url)
    try:
        with snapshot(engine) as connection:
            revision = read_revision(connection)  # the first read fixes the snapshot
            summary = Summary(source.app, revision)
            sink.json(b"H", {
                "format": FORMAT, "version": FORMAT_VERSION, "app": source.app,
                "revision": revision, "dialect": engine.dialect.name,
                "created_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
                "fingerprints": dict(source.fingerprints)})
            for table in reflect(connection).sorted_tables:
                summary.tables[table.name] = _dump_table(sink, connection, table)
            referenced = (source.referenced_bodies(connection)
                          if source.referenced_bodies else set())
            # Listed after the snapshot began: a body stored since is an orphan the
            # restored app sweeps; one deleted since is counted as missing below.
            for name in sorted(_store_bodies(source.store)):
                try:
                    with (source.store / name).open("rb") as file:
                        summary.files[f"store/{name}"] = sink.file("store", name, file)
                except FileNotFoundError:
                    continue
            summary.missing_bodies = len(
                {n for n in referenced if f"store/{n}" not in summary.files})
            for name, path in sorted(source.instance_files.items()):
                try:
                    with path.open("rb") as file:
                        summary.files[f"instance/{name}"] = sink.file("instance", name, file)
                except FileNotFoundError:
                    summary.notes.append(f"{name} does not exist: not in the backup")
        sink.json(b"E", {"tables": summary.tables, "files": summary.files,
                         "sha256": sink.digest.hexdigest()})
        sink.writer.close()
    finally:
        engine.dispose()
    summary.sealed = tally.sealed()
    return summary


def _dump_table(sink: _Sink, connection: Connection, table: Any) -> int:
    columns = [column.name for column in table.columns]
    sink.json(b"T", {"name": table.name, "columns": columns})
    order = list(table.primary_key.columns) or list(table.columns)
    rows = 0
    result = connection.execution_options(yield_per=ROWS_PER_READ).execute(
        select(table).order_by(*order))
    for row in result:
        sink.record(b"R", _dumps([encode_value(value) for value in row]))
        rows += 1
    return rows


def _store_bodies(store: Path) -> list[str]:
    if not store.is_dir():
        return []
    return [p.name for p in store.iterdir() if p.is_file() and is_envelope_id(p.name)]


# --- reading ---------------------------------------------------------------------------


def records(pieces: Iterator[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """Split plaintext into (kind, payload) records; BackupError if it is not records."""
    buffer = bytearray()
    start = 0
    for piece in pieces:
        buffer += piece
        while len(buffer) - start >= 5:
            (length,) = _LENGTH.unpack_from(buffer, start + 1)
            if length > MAX_RECORD:
                raise BackupError("the backup's content is malformed (a record too long)")
            end = start + 5 + length
            if len(buffer) < end:
                break
            yield bytes(buffer[start:start + 1]), bytes(buffer[start + 5:end])
            start = end
        if start > PIECE:
            del buffer[:start]
            start = 0
    if len(buffer) != start:
        raise BackupError("the backup's content is malformed (a record cut short)")
