"""Alembic migrations of the casework database, on real SQLite files on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from casework import migrate
from casework.models import Base

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'casework.sqlite'}"


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_history_is_linear() -> None:
    script = ScriptDirectory(str(migrate.SCRIPT_LOCATION))
    revisions = list(script.walk_revisions())
    assert revisions, "no revisions found"
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    for revision in revisions:
        assert not revision.is_merge_point, revision.revision
        assert not revision.is_branch_point, revision.revision
        assert not isinstance(revision.down_revision, tuple | list), revision.revision
        assert not revision.branch_labels, revision.revision
    # Walking down from the one head reaches every revision.
    chain = []
    current = script.get_revision(script.get_current_head())
    while current is not None:
        chain.append(current.revision)
        current = script.get_revision(current.down_revision) if current.down_revision else None
    assert sorted(chain) == sorted(r.revision for r in revisions)


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _tables(database_url) == MODEL_TABLES | {"alembic_version"}

    migrate.downgrade(database_url)
    assert _tables(database_url) == {"alembic_version"}

    migrate.upgrade(database_url)
    assert _tables(database_url) == MODEL_TABLES | {"alembic_version"}
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            head = ScriptDirectory(str(migrate.SCRIPT_LOCATION)).get_current_head()
            assert MigrationContext.configure(conn).get_current_revision() == head
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_the_tables_are_rowid_tables(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            ).all()
    finally:
        engine.dispose()
    ddl = {name: sql for name, sql in rows if name in MODEL_TABLES}
    assert set(ddl) == MODEL_TABLES
    for name, sql in ddl.items():
        assert "WITHOUT ROWID" not in sql.upper(), name


def _constraint_names(engine: Engine) -> dict[str, dict[str, object]]:
    inspector = inspect(engine)
    return {
        table: {
            "pk": inspector.get_pk_constraint(table)["name"],
            "fk": sorted(fk["name"] or "" for fk in inspector.get_foreign_keys(table)),
            "uq": sorted(uq["name"] or "" for uq in inspector.get_unique_constraints(table)),
            "ix": sorted(ix["name"] or "" for ix in inspector.get_indexes(table)),
        }
        for table in sorted(MODEL_TABLES)
    }


def test_the_constraint_names_follow_the_naming_convention(
    database_url: str, tmp_path: Path
) -> None:
    # compare_metadata ignores primary and foreign key names: compare them with the
    # names create_all() gives under casework.models.base.NAMING_CONVENTION.
    migrate.upgrade(database_url)
    migrated = create_engine(database_url)
    reference = create_engine(f"sqlite:///{tmp_path / 'create_all.sqlite'}")
    try:
        Base.metadata.create_all(reference)
        names = _constraint_names(migrated)
        assert names == _constraint_names(reference)
    finally:
        migrated.dispose()
        reference.dispose()
    assert names["cases"]["fk"] == ["fk_cases_unit_id_units"]
    assert names["cases"]["uq"] == ["uq_cases_intake_receipt_id", "uq_cases_reference"]
    assert names["cases"]["ix"] == ["ix_cases_stage", "ix_cases_unit_received"]
    assert names["case_envelopes"]["fk"] == [
        "fk_case_envelopes_author_id_users",
        "fk_case_envelopes_case_id_cases",
    ]
    assert names["memberships"]["pk"] == "pk_memberships"
    assert names["staff_sessions"]["ix"] == ["ix_staff_sessions_user_id"]


def test_the_inbox_index_keys_unit_received_id_in_order(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("cases")}
    finally:
        engine.dispose()
    assert indexes["ix_cases_unit_received"]["column_names"] == ["unit_id", "received_on", "id"]
    assert not indexes["ix_cases_unit_received"]["unique"]
