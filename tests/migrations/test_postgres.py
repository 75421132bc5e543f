"""Both apps' migrations on a real PostgreSQL: upgrade, downgrade, and models match."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from casework import migrate as casework_migrate
from casework.models import Base as CaseworkBase
from intake import migrate as intake_migrate
from intake.models import Base as IntakeBase


@pytest.mark.parametrize(("migrate", "base"), [(intake_migrate, IntakeBase),
                                               (casework_migrate, CaseworkBase)],
                         ids=["intake", "casework"])
def test_migrations_round_trip_and_match_the_models_on_postgresql(
    postgres_url: str, migrate: object, base: object
) -> None:
    migrate.upgrade(postgres_url)  # type: ignore[attr-defined]
    migrate.downgrade(postgres_url)  # type: ignore[attr-defined]
    engine = create_engine(postgres_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(postgres_url)  # type: ignore[attr-defined]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), base.metadata)  # type: ignore[attr-defined]
    engine.dispose()
    assert diff == []
