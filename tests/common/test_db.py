"""The SQLite settings both apps rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from common.db import Database


def test_sqlite_overwrites_deleted_content_and_enforces_foreign_keys(tmp_path: Path) -> None:
    # secure_delete: acknowledged envelopes and purged sessions must not linger in free
    # pages of the database file, where a seized disk would still show them.
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with database.session() as session:
        assert session.execute(text("PRAGMA secure_delete")).scalar() == 1
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.engine.dispose()


def test_a_failed_statement_does_not_repeat_its_parameters(tmp_path: Path) -> None:
    # A commit that fails at the end of a request is logged by Flask with the exception's
    # message; the parameters could be a lookup token or a sealed header.
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    token = "lookup-token-that-must-not-be-logged"
    with database.session() as session:
        session.execute(text("CREATE TABLE t (id TEXT PRIMARY KEY)"))
        session.execute(text("INSERT INTO t VALUES (:id)"), {"id": token})
    with pytest.raises(IntegrityError) as caught, database.session() as session:
        session.execute(text("INSERT INTO t VALUES (:id)"), {"id": token})
    assert token not in str(caught.value)
    database.engine.dispose()
