"""An index on cases.tipster_public_key: every imported report checks that its tipster
key is not another case's, which would otherwise scan the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ix_cases_tipster_public_key."""
    op.create_index("ix_cases_tipster_public_key", "cases", ["tipster_public_key"],
                    unique=False)


def downgrade() -> None:
    """Drop ix_cases_tipster_public_key."""
    op.drop_index("ix_cases_tipster_public_key", table_name="cases")
