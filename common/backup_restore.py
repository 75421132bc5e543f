"""Restoring a backup (format in :mod:`common.backup`) into an empty instance.

All or nothing, in this order:

1. The target must be empty: no rows but the migrations' own (and the start-up tables'
   of :attr:`BackupSource.startup_tables`, which the backup's replace), no body in the
   store. Its Alembic revision must be the backup's: we load rows into the schema they
   were read from and never guess a migration of data (restore with the version that
   made the backup, then upgrade by starting the newer one).
2. The whole stream is decrypted and checked once, writing nothing: every chunk
   authenticated, the FINAL tag present and nothing after it, the app, the revision and
   the settings' fingerprints, every table and column known here, every row well formed,
   every file name allowed, and the trailer's counts and digest equal to what was read.
3. It is read again and loaded: every row in ONE transaction (foreign keys that point
   forward, like a merged case's, are filled in by an update at the end; PostgreSQL's
   sequences are moved past the highest id), the files into temporary names beside their
   places (bodies in a folder inside the store, key files next to their own). A failure
   here rolls the transaction back and removes the temporary files.
4. Only after the commit are the files renamed into place.

A refusal at any step leaves the target as it was: no row, no file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, MetaData, Table, and_, func, select, text, update

import crypto
from crypto.backup import open_backup
from crypto.streams import Readable

from .backup import (
    AREAS,
    FORMAT,
    FORMAT_VERSION,
    PIECE,
    BackupError,
    BackupSource,
    PartlyRestored,
    Summary,
    Tally,
    decode_value,
    engine_for,
    read_revision,
    records,
    reflect,
    snapshot,
    write_transaction,
)
from .storage import is_envelope_id

MIGRATIONS_TABLE = "alembic_version"
ROWS_PER_INSERT = 500
_MALFORMED = "the backup's content is malformed"


@dataclass
class _Target:
    metadata: MetaData
    revision: str
    counts: dict[str, int]


def restore_backup(source: BackupSource, backup: Path, key: crypto.PrivateKey) -> Summary:
    """Restore ``backup`` into ``source``'s empty database and store (see the module)."""
    engine = engine_for(source.database_url)
    try:
        target = _read_target(engine)
        _require_empty(source, target)
        with backup.open("rb") as file:
            tally = Tally(file)
            summary = _check(tally, key, source, target)
            while tally.read(PIECE):  # none left (the check refuses any), but to be sure
                pass
            summary.sealed = tally.sealed()  # names the backup restored (casework's log)
        _load(backup, key, source, target, engine)
    finally:
        engine.dispose()
    if source.after_restore is not None:
        summary.notes.extend(source.after_restore(summary))
    return summary


def _read_target(engine: Engine) -> _Target:
    with snapshot(engine) as connection:
        revision = read_revision(connection)
        metadata = reflect(connection)
        counts = {name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
                  for name, table in metadata.tables.items()}
    return _Target(metadata, revision, counts)


def _require_empty(source: BackupSource, target: _Target) -> None:
    full = sorted(f"{name} ({count} rows)" for name, count in target.counts.items()
                  if count and name != MIGRATIONS_TABLE and name not in source.startup_tables)
    if full:
        raise BackupError("the target database is not empty: " + ", ".join(full[:5])
                          + ("..." if len(full) > 5 else "")
                          + "; a backup is restored only into a new, empty database")
    if source.store.is_dir() and any(p.name != "incoming" for p in source.store.iterdir()):
        raise BackupError(f"the envelope store {source.store} is not empty; a backup is "
                          "restored only into an empty store")


def _check(file: Readable, key: crypto.PrivateKey, source: BackupSource,
           target: _Target) -> Summary:
    summary: Summary | None = None
    for event in _walk(file, key, source, target):
        if event[0] == "header":
            summary = Summary(source.app, str(event[1]["revision"]))
        elif event[0] == "end":
            assert summary is not None  # noqa: S101 (a header always comes first)
            summary.tables, summary.files = event[1], event[2]
    assert summary is not None  # noqa: S101 (_walk ends with "end" or raises)
    return summary


def _walk(file: Readable, key: crypto.PrivateKey, source: BackupSource,
          target: _Target) -> Iterator[tuple[Any, ...]]:
    """The backup's contents as events, each checked; ends normally only when the whole
    stream is authenticated and agrees with its trailer."""
    digest = hashlib.sha256()
    tables: dict[str, int] = {}
    files: dict[str, int] = {}
    table: Table | None = None
    columns: list[str] = []
    current_file: str | None = None
    trailer: Any = None
    started = False
    for kind, payload in records(open_backup(file, key)):
        if trailer is not None:
            raise BackupError(f"{_MALFORMED} (records after the trailer)")
        if kind == b"E":
            trailer = _json(payload)
            continue
        digest.update(kind + len(payload).to_bytes(4, "big") + payload)
        if kind == b"H" and not started:
            header = _json(payload)
            _check_header(header, source, target)
            started = True
            yield ("header", header)
        elif not started:
            raise BackupError(f"{_MALFORMED} (no header)")
        elif kind == b"T" and current_file is None:
            table, columns = _table(_json(payload), target, tables)
            yield ("table", table, columns)
        elif kind == b"R" and table is not None and current_file is None:
            values = _json(payload)
            if not isinstance(values, list) or len(values) != len(columns):
                raise BackupError(f"{_MALFORMED} (a row of {table.name})")
            try:
                row = {name: decode_value(value) for name, value in zip(columns, values,
                                                                         strict=True)}
            except (ValueError, TypeError) as exc:
                raise BackupError(f"{_MALFORMED} (a value in {table.name})") from exc
            tables[table.name] += 1
            yield ("row", table, row)
        elif kind == b"F":
            area, name = _file(_json(payload), source)
            current_file = f"{area}/{name}"
            if current_file in files:
                raise BackupError(f"{_MALFORMED} (a file twice)")
            files[current_file] = 0
            yield ("file", area, name)
        elif kind == b"D" and current_file is not None:
            files[current_file] += len(payload)
            yield ("data", payload)
        else:
            raise BackupError(f"{_MALFORMED} (a record out of place)")
    if trailer is None:
        raise BackupError(f"{_MALFORMED} (no trailer)")
    if set(tables) != set(target.metadata.tables):
        raise BackupError("the backup does not hold every table of this database")
    if not isinstance(trailer, dict) or trailer.get("tables") != tables \
            or trailer.get("files") != files or trailer.get("sha256") != digest.hexdigest():
        raise BackupError("the backup's trailer does not match its contents (rows, files or "
                          "digest): it is incomplete or was not written by Lykta")
    yield ("end", tables, files)


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BackupError(f"{_MALFORMED} (not JSON)") from exc


def _check_header(header: Any, source: BackupSource, target: _Target) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("this is not a Lykta backup")
    if header.get("version") != FORMAT_VERSION:
        raise BackupError("this backup's format version is not one this Lykta reads")
    app = header.get("app")
    if app != source.app:
        named = app if app in ("intake", "casework") else "another app"
        raise BackupError(f"this is a backup of {named}, not of {source.app}")
    revision = header.get("revision")
    if revision != target.revision:
        shown = revision if isinstance(revision, str) and revision.isalnum() else "?"
        raise BackupError(f"the backup's database revision is {shown}, this database's is "
                          f"{target.revision}: restore with the Lykta version that made "
                          "the backup, then upgrade")
    prints = header.get("fingerprints")
    for name, value in source.fingerprints.items():
        if not isinstance(prints, dict) or prints.get(name) != value:
            raise BackupError(f"the backup was made with another {name} than this "
                              f"instance's configuration: set the {name} of the instance "
                              "the backup comes from")


def _table(info: Any, target: _Target, seen: dict[str, int]) -> tuple[Table, list[str]]:
    name = info.get("name") if isinstance(info, dict) else None
    columns = info.get("columns") if isinstance(info, dict) else None
    table = target.metadata.tables.get(name) if isinstance(name, str) else None
    if table is None or name in seen:
        raise BackupError("the backup holds a table this database does not have")
    if not isinstance(columns, list) or len(set(columns)) != len(columns) \
            or set(columns) != set(table.columns.keys()):
        raise BackupError(f"the table {table.name} in the backup has other columns than "
                          "in this database")
    seen[table.name] = 0
    return table, columns


def _file(info: Any, source: BackupSource) -> tuple[str, str]:
    area = info.get("area") if isinstance(info, dict) else None
    name = info.get("name") if isinstance(info, dict) else None
    # Names come from the backup: only an envelope id or a known key file's name, so no
    # name can reach outside the store or pick a path of its own.
    if area not in AREAS or not isinstance(name, str) or not (
            is_envelope_id(name) if area == "store" else name in source.instance_files):
        raise BackupError(f"{_MALFORMED} (a file name this instance does not take)")
    return str(area), name


# --- loading ---------------------------------------------------------------------------


def _load(backup: Path, key: crypto.PrivateKey, source: BackupSource, target: _Target,
          engine: Engine) -> None:
    staging = source.store / f".restore-{secrets.token_hex(8)}"
    staged: list[tuple[Path, Path]] = []  # (temporary, final)
    out: BinaryIO | None = None
    try:
        source.store.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging.mkdir(mode=0o700)
        with backup.open("rb") as file, write_transaction(engine) as connection, \
                connection.begin():
            for name in source.startup_tables:
                if name in target.metadata.tables:
                    connection.execute(target.metadata.tables[name].delete())
            loader = _Loader(connection)
            for event in _walk(file, key, source, target):
                if event[0] == "table":
                    loader.start(event[1])
                elif event[0] == "row":
                    loader.add(event[2])
                elif event[0] == "file":
                    _close(out)
                    final = (source.store / event[2] if event[1] == "store"
                             else source.instance_files[event[2]])
                    temporary = (staging / event[2] if event[1] == "store" else
                                 final.with_name(f".{final.name}.restore-{secrets.token_hex(8)}"))
                    staged.append((temporary, final))
                    out = os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                            0o600), "wb")
                elif event[0] == "data":
                    assert out is not None  # noqa: S101 (_walk: data only inside a file)
                    out.write(event[1])
            _close(out)
            out = None
            loader.finish()
    except BaseException:
        _close(out)
        for temporary, _final in staged:
            temporary.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        for temporary, final in staged:
            os.replace(temporary, final)
        staging.rmdir()
    except OSError as exc:
        raise PartlyRestored(f"the rows are restored, but moving the files into place failed "
                          f"({type(exc).__name__}); what is left is in {staging} and next "
                          "to the key files") from exc


def _close(out: BinaryIO | None) -> None:
    if out is not None and not out.closed:
        out.flush()
        os.fsync(out.fileno())
        out.close()


class _Loader:
    """Rows into their tables in batches; forward foreign keys filled in at the end."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.loaded: dict[str, Table] = {}
        self.table: Table | None = None
        self.deferred: list[str] = []
        self.pending: list[dict[str, Any]] = []
        self.updates: list[tuple[Table, dict[str, Any], dict[str, Any]]] = []

    def start(self, table: Table) -> None:
        self.flush()
        self.table = table
        # A column pointing at a table not loaded yet (itself, above all: a merged case
        # names another case) is inserted empty and set once every row is in.
        self.deferred = sorted({fk.parent.name for fk in table.foreign_keys
                                if fk.column.table.name not in self.loaded})
        if any(not table.columns[name].nullable for name in self.deferred):
            raise BackupError(f"the table {table.name} cannot be loaded in any order")
        self.loaded[table.name] = table

    def add(self, row: dict[str, Any]) -> None:
        assert self.table is not None  # noqa: S101 (_walk: rows only inside a table)
        if self.table.name == MIGRATIONS_TABLE:
            return  # the target is at the same revision: its row is the backup's
        later = {name: row[name] for name in self.deferred if row[name] is not None}
        if later:
            primary = {c.name: row[c.name] for c in self.table.primary_key.columns}
            self.updates.append((self.table, primary, later))
            row = {**row, **dict.fromkeys(later)}
        self.pending.append(row)
        if len(self.pending) >= ROWS_PER_INSERT:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.table is not None:
            self.connection.execute(self.table.insert(), self.pending)
        self.pending = []

    def finish(self) -> None:
        self.flush()
        for table, primary, values in self.updates:
            self.connection.execute(update(table).where(
                and_(*(table.c[name] == value for name, value in primary.items())))
                .values(values))
        if self.connection.dialect.name == "postgresql":
            self._move_sequences()

    def _move_sequences(self) -> None:
        quote = self.connection.dialect.identifier_preparer.quote
        for name, table in self.loaded.items():
            for column in table.primary_key.columns:
                sequence = self.connection.scalar(
                    text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": quote(name), "column": column.name})
                if sequence is None:
                    continue
                highest = select(func.max(column)).scalar_subquery()
                # The next id after the highest loaded (or 1 for an empty table).
                self.connection.execute(select(func.setval(
                    sequence, func.coalesce(highest, 1), highest.is_not(None))))
