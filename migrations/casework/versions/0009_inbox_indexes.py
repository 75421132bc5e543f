"""Inbox indexes: readership and assignments by person and date, stage and priority by date.

``case_readers`` and ``assignments`` get a copy of their case's ``received_on`` (it never
changes), filled here for existing rows, so that the inbox can page through one person's
cases (or assignments) in date order from an index: its cost is a page, whatever the size
of the unit. ``cases`` gets (stage, received_on, id) and (priority, received_on, id) for
the stage and priority filters; the old single-column indexes they extend are dropped.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old single-column index on user_id, new index on (user_id, received_on, case_id))
PERSON_TABLES = (("case_readers", "ix_case_readers_user_id", "ix_case_readers_user_received"),
                 ("assignments", "ix_assignments_user_id", "ix_assignments_user_received"))


def upgrade() -> None:
    """Copy received_on into case_readers and assignments; replace the inbox's indexes."""
    for table, old_index, new_index in PERSON_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        # Table and column names are constants of this migration, never input.
        op.execute(sa.text(
            f"UPDATE {table} SET received_on = (SELECT cases.received_on FROM cases "  # noqa: S608
            f"WHERE cases.id = {table}.case_id)"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("received_on", existing_type=sa.Date(), nullable=False)
        op.drop_index(old_index, table_name=table)
        op.create_index(new_index, table, ["user_id", "received_on", "case_id"])
    op.drop_index("ix_cases_stage", table_name="cases")
    op.create_index("ix_cases_stage_received", "cases", ["stage", "received_on", "id"])
    op.create_index("ix_cases_priority_received", "cases", ["priority", "received_on", "id"])


def downgrade() -> None:
    """Back to 0008's indexes; the copied dates are dropped."""
    op.drop_index("ix_cases_priority_received", table_name="cases")
    op.drop_index("ix_cases_stage_received", table_name="cases")
    op.create_index("ix_cases_stage", "cases", ["stage"])
    for table, old_index, new_index in PERSON_TABLES:
        op.drop_index(new_index, table_name=table)
        op.create_index(old_index, table, ["user_id"])
        with op.batch_alter_table(table) as batch:
            batch.drop_column("received_on")
