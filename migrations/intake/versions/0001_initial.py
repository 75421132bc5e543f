"""Initial intake schema: receipts, envelopes, tipster sessions, directory state.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Every table is WITHOUT ROWID on SQLite (``sqlite_with_rowid=False``), as in
``intake.models``: rows are stored in the order of their random primary key.
Constraint names follow ``intake.models.NAMING_CONVENTION``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four intake tables."""
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("lookup_token", sa.LargeBinary(length=32), nullable=False),
        sa.Column("tipster_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kdf", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_key_ids", sa.Text(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_receipts"),
        sa.UniqueConstraint("lookup_token", name="uq_receipts_lookup_token"),
        sa.UniqueConstraint("tipster_public_key", name="uq_receipts_tipster_public_key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "envelopes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("receipt_id", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("header", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name="fk_envelopes_receipt_id_receipts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_envelopes"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_envelopes_receipt_id", "envelopes", ["receipt_id"], unique=False)
    op.create_table(
        "tipster_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("locked_key", sa.LargeBinary(), nullable=False),
        sa.Column("purge_after", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tipster_sessions"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "directory_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_directory_state"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    """Drop the four intake tables (and everything in them)."""
    op.drop_table("directory_state")
    op.drop_table("tipster_sessions")
    op.drop_index("ix_envelopes_receipt_id", table_name="envelopes")
    op.drop_table("envelopes")
    op.drop_table("receipts")
