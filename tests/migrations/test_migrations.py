"""Alembic migrations of both databases, on real SQLite files on disk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, inspect, text

from casework import migrate as casework_migrate
from casework.models import Base as CaseworkBase
from intake import migrate as intake_migrate
from intake.models import Base as IntakeBase


@dataclass(frozen=True)
class Environment:
    name: str
    migrate: ModuleType
    metadata: MetaData
    without_rowid: bool  # intake orders rows by random key, not by arrival

    @property
    def tables(self) -> set[str]:
        return set(self.metadata.tables)


ENVIRONMENTS = [Environment("intake", intake_migrate, IntakeBase.metadata, True),
                Environment("casework", casework_migrate, CaseworkBase.metadata, False)]


@pytest.fixture(params=ENVIRONMENTS, ids=lambda e: e.name)
def env(request: pytest.FixtureRequest) -> Environment:
    environment: Environment = request.param
    return environment


@pytest.fixture
def database_url(tmp_path: Path, env: Environment) -> str:
    return f"sqlite:///{tmp_path / (env.name + '.sqlite')}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = create_engine(database_url)
    yield created
    created.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_the_history_is_linear(env: Environment) -> None:
    script = ScriptDirectory(str(env.migrate.SCRIPT_LOCATION))
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


def test_upgrade_downgrade_upgrade(env: Environment, database_url: str,
                                   engine: Engine) -> None:
    env.migrate.upgrade(database_url)
    assert _tables(engine) == env.tables | {"alembic_version"}
    env.migrate.downgrade(database_url)
    assert _tables(engine) == {"alembic_version"}
    env.migrate.upgrade(database_url)
    assert _tables(engine) == env.tables | {"alembic_version"}
    with engine.connect() as conn:
        head = ScriptDirectory(str(env.migrate.SCRIPT_LOCATION)).get_current_head()
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_the_migrated_schema_matches_the_models(env: Environment, database_url: str,
                                                engine: Engine) -> None:
    env.migrate.upgrade(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), env.metadata)
    assert diff == []


def test_rowid_as_each_database_needs(env: Environment, database_url: str,
                                      engine: Engine) -> None:
    env.migrate.upgrade(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        ddl = {name: sql for name, sql in rows if name in env.tables}
    assert set(ddl) == env.tables
    for name, sql in ddl.items():
        assert ("WITHOUT ROWID" in sql.upper()) == env.without_rowid, name


def _constraint_names(engine: Engine, tables: set[str]) -> dict[str, dict[str, object]]:
    inspector = inspect(engine)
    return {
        table: {
            "pk": inspector.get_pk_constraint(table)["name"],
            "fk": sorted(fk["name"] or "" for fk in inspector.get_foreign_keys(table)),
            "uq": sorted(uq["name"] or "" for uq in inspector.get_unique_constraints(table)),
            "ix": sorted(ix["name"] or "" for ix in inspector.get_indexes(table)),
        }
        for table in sorted(tables)
    }


@pytest.fixture
def migrated_names(env: Environment, database_url: str, engine: Engine,
                   tmp_path: Path) -> dict[str, dict[str, object]]:
    """Constraint names after migrating, checked equal to what create_all() gives.

    compare_metadata ignores primary and foreign key names, hence this comparison.
    """
    env.migrate.upgrade(database_url)
    reference = create_engine(f"sqlite:///{tmp_path / 'create_all.sqlite'}")
    try:
        env.metadata.create_all(reference)
        names = _constraint_names(engine, env.tables)
        assert names == _constraint_names(reference, env.tables)
    finally:
        reference.dispose()
    return names


@pytest.mark.parametrize("env", [ENVIRONMENTS[0]], ids=["intake"], indirect=True)
def test_intake_constraint_names_follow_the_naming_convention(
    migrated_names: dict[str, dict[str, object]],
) -> None:
    assert migrated_names["envelopes"]["fk"] == ["fk_envelopes_receipt_id_receipts"]
    assert migrated_names["envelopes"]["ix"] == ["ix_envelopes_receipt_id"]


@pytest.mark.parametrize("env", [ENVIRONMENTS[1]], ids=["casework"], indirect=True)
def test_casework_constraint_names_follow_the_naming_convention(
    migrated_names: dict[str, dict[str, object]],
) -> None:
    names = migrated_names
    assert names["cases"]["fk"] == ["fk_cases_merged_into_id_cases", "fk_cases_unit_id_units"]
    assert names["cases"]["uq"] == ["uq_cases_intake_receipt_id", "uq_cases_reference"]
    assert names["cases"]["ix"] == ["ix_cases_priority_received", "ix_cases_stage_concluded",
                                   "ix_cases_stage_received", "ix_cases_tipster_public_key",
                                   "ix_cases_unit_received"]
    # The statistics' indexes (0012): a period's stage changes and conclusions.
    assert "ix_stage_changes_stage_at" in names["stage_changes"]["ix"]
    # The inbox's indexes (0009): a person's cases and assignments in date order.
    assert names["case_readers"]["ix"] == ["ix_case_readers_user_received"]
    assert names["assignments"]["ix"] == ["ix_assignments_user_received"]
    assert names["case_envelopes"]["fk"] == [
        "fk_case_envelopes_author_id_users",
        "fk_case_envelopes_case_id_cases",
    ]
    assert names["memberships"]["pk"] == "pk_memberships"
    assert names["staff_sessions"]["ix"] == ["ix_staff_sessions_user_id"]


@pytest.mark.parametrize("env", [ENVIRONMENTS[1]], ids=["casework"], indirect=True)
def test_the_inbox_index_keys_unit_received_id_in_order(
    env: Environment, database_url: str, engine: Engine
) -> None:
    env.migrate.upgrade(database_url)
    indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("cases")}
    assert indexes["ix_cases_unit_received"]["column_names"] == ["unit_id", "received_on", "id"]
    assert not indexes["ix_cases_unit_received"]["unique"]
