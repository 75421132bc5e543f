"""Statistics indexes: stage changes by stage and moment, cases by stage and conclusion.

The figures of a period read the stage changes of that period: the conclusions in it
(outcomes, days to closure, the art. 27(2) amounts), the first moves to assessed or
investigating in it (follow-up opened, investigations opened) and the conclusions a case
had by its end (open cases by age). Without an index on the stage and the moment, each
of those read every stage change ever made: publishing at 1M cases took about 33 s. With
(to_stage, at, case_id) each reads the period's rows of one stage, and the case id
comes from the index itself. The open cases at a period's end come from the cases open
now and those concluded since the period began: (stage, concluded_on) finds the latter
without reading the cases concluded long before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the stage changes' index by stage and moment."""
    op.create_index("ix_stage_changes_stage_at", "stage_changes",
                    ["to_stage", "at", "case_id"])
    op.create_index("ix_cases_stage_concluded", "cases", ["stage", "concluded_on"])


def downgrade() -> None:
    """Back to 0011."""
    op.drop_index("ix_cases_stage_concluded", table_name="cases")
    op.drop_index("ix_stage_changes_stage_at", table_name="stage_changes")
