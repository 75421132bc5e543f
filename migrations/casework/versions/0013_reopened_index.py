"""Stage changes by origin stage and moment: the cases reopened since a moment.

Counting a period's outcomes and its open cases used to read every case's history in
the year: its conclusions ranked per case, its last move before each quarter's end. Only
a reopened case (a move out of ``concluded``) has a history the case row does not
summarise, and reopenings are rare; with (from_stage, at, case_id) the statistics find
them from the index alone and read only their histories
(``casework.statistics.counts.reopened_since``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the stage changes' index by origin stage and moment."""
    op.create_index("ix_stage_changes_from_at", "stage_changes",
                    ["from_stage", "at", "case_id"])


def downgrade() -> None:
    """Back to 0012."""
    op.drop_index("ix_stage_changes_from_at", table_name="stage_changes")
