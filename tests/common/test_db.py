"""The SQLite settings both apps rely on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from common.db import Database


def test_sqlite_overwrites_deleted_content_and_enforces_foreign_keys(tmp_path: Path) -> None:
    # secure_delete: acknowledged envelopes and purged sessions must not linger in free
    # pages of the database file, where a seized disk would still show them.
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with database.session() as session:
        assert session.execute(text("PRAGMA secure_delete")).scalar() == 1
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.engine.dispose()
