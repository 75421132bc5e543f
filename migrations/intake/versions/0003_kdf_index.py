"""Index receipts.kdf: every sign-in asks which Argon2 parameter sets are in use.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ix_receipts_kdf."""
    op.create_index("ix_receipts_kdf", "receipts", ["kdf"], unique=False)


def downgrade() -> None:
    """Drop ix_receipts_kdf."""
    op.drop_index("ix_receipts_kdf", table_name="receipts")
