"""Assignments: which person a unit lead gave a case to.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the assignments table."""
    op.create_table(
        "assignments",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("assigned_by", sa.String(length=32), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assigned_by"], ["users.id"],
                                name="fk_assignments_assigned_by_users"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_assignments_case_id_cases"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_assignments_user_id_users"),
        sa.PrimaryKeyConstraint("case_id", "user_id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_user_id", "assignments", ["user_id"], unique=False)


def downgrade() -> None:
    """Drop the assignments table."""
    op.drop_index("ix_assignments_user_id", table_name="assignments")
    op.drop_table("assignments")
