"""``flask --app intake|casework backup ...``: the backup key, making and restoring backups.

Each app registers this group with a function that describes what it backs up
(``intake/cli_backup.py``, ``casework/cli_backup.py``). Every refusal is one sentence on
standard error and exit code 1, never a traceback; a failed ``create`` leaves no file and
a failed ``restore`` changes nothing (common/backup_restore.py).

Both print the size and SHA-256 of the sealed file, which name the backup without a word
of its content: casework records them in its audit log (``after_create``,
``after_restore`` of :class:`~common.backup.BackupSource`), so the operator can tell which
file an entry means with ``sha256sum``. A ``create`` whose record fails removes its file:
no backup without its entry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

import crypto
from crypto.backup import backup_key_file, load_backup_key_file, new_backup_key

from .backup import BackupError, BackupSource, PartlyRestored, Summary, create_backup
from .backup_restore import restore_backup

_PATH = click.Path(dir_okay=False, path_type=Path)


def _private_file(path: Path) -> int:
    """A new file, owner-only, never one that exists (O_EXCL)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _describe(summary: Summary) -> str:
    rows = sum(summary.tables.values())
    size = sum(summary.files.values())
    sealed = ("" if summary.sealed is None else
              f"; sealed file {summary.sealed.size} bytes, SHA-256 {summary.sealed.sha256}")
    return (f"{len(summary.tables)} tables, {rows} rows, {len(summary.files)} files "
            f"({size} bytes), database revision {summary.revision}{sealed}")


@click.command("init-key")
@click.option("--private", "private_path", type=_PATH, required=True,
              help="Where to write the private key (a new file; keep it offline).")
def init_key(private_path: Path) -> None:
    """Make a backup key pair; print the public key for backup_public_key (hex).

    It needs no instance, so that the private key can be made on the offline machine
    that keeps it and never touch a server: ``python -m common.cli_backup init-key
    --private FILE`` there (``flask --app X backup init-key`` does the same).
    """
    key = new_backup_key()
    try:
        fd = _private_file(private_path)
    except FileExistsError as exc:
        raise click.ClickException(
            f"{private_path} exists: a backup key is never overwritten (every backup "
            "sealed to it would be lost)") from exc
    except OSError as exc:
        raise click.ClickException(f"{private_path} cannot be written "
                                   f"({type(exc).__name__})") from exc
    with os.fdopen(fd, "wb") as file:
        file.write(backup_key_file(key))
        file.flush()
        os.fsync(file.fileno())
    click.echo(key.public_key.raw.hex())
    click.echo(f"Put the line above in backup_public_key; keep {private_path} offline "
               "(docs/backups.md: the key ceremony).", err=True)


def register(app: Flask, source: Callable[[], BackupSource]) -> None:
    """Attach the ``backup`` command group to ``app``; ``source`` describes what it holds."""

    @app.cli.group("backup")
    def backup() -> None:
        """Encrypted backups sealed to an offline key (docs/backups.md)."""

    backup.add_command(init_key)

    @backup.command("create")
    @click.argument("file", type=_PATH)
    def create(file: Path) -> None:
        """Write a sealed backup of the database, the envelope store and the key files."""
        what = source()
        try:
            fd = _private_file(file)
        except FileExistsError as exc:
            raise click.ClickException(f"{file} exists: choose a new file name") from exc
        except OSError as exc:
            raise click.ClickException(f"{file} cannot be written "
                                       f"({type(exc).__name__})") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                summary = create_backup(what, out)
                out.flush()
                os.fsync(out.fileno())
            # Once the file is on disk, and still inside the try: a failed record (the
            # audit entry) removes the file like any other failure.
            if what.after_create is not None:
                summary.notes.extend(what.after_create(summary))
        except BaseException as exc:
            file.unlink(missing_ok=True)
            if isinstance(exc, BackupError):
                raise click.ClickException(str(exc)) from exc
            if isinstance(exc, SQLAlchemyError | OSError):
                # The type only: a database error's text can name the URL or a value.
                raise click.ClickException(f"the backup failed ({type(exc).__name__}); "
                                           "no file was left") from exc
            raise
        click.echo(f"Backup of {what.app} written to {file}: {_describe(summary)}.")
        if summary.missing_bodies:
            click.echo(f"Warning: {summary.missing_bodies} envelope bodies the database "
                       "names were not in the store (deleted meanwhile?): run it again.",
                       err=True)
        for note in summary.notes:
            click.echo(f"Note: {note}", err=True)

    @backup.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.option("--key", "key_path", type=click.Path(dir_okay=False, exists=True,
                                                       path_type=Path), required=True,
                  help="The backup private key file (from init-key).")
    def restore(file: Path, key_path: Path) -> None:
        """Restore a backup into this instance's EMPTY database and store."""
        try:
            key = load_backup_key_file(key_path.read_bytes())
        except (OSError, crypto.CryptoError) as exc:
            raise click.ClickException(f"{key_path} is not a readable backup private "
                                       "key") from exc
        what = source()
        try:
            summary = restore_backup(what, file, key)
        except PartlyRestored as exc:
            raise click.ClickException(str(exc)) from exc
        except BackupError as exc:
            raise click.ClickException(f"{exc}; nothing was restored") from exc
        except crypto.CryptoError as exc:
            raise click.ClickException(f"{exc}; nothing was restored") from exc
        except (SQLAlchemyError, OSError) as exc:
            raise click.ClickException(f"the restore failed ({type(exc).__name__}); "
                                       "nothing was restored") from exc
        click.echo(f"Restored {what.app}: {_describe(summary)}.")
        for note in summary.notes:
            click.echo(note)


if __name__ == "__main__":  # python -m common.cli_backup init-key --private FILE (offline)
    click.Group(commands=[init_key])()
