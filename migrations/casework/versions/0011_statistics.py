"""KOF statistics: published releases, API tokens, and the two optional amounts of a
concluded case (Directive art. 27(2)).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the release and token tables and the two amounts."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("damage_estimate_sek", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("recovered_sek", sa.BigInteger(), nullable=True))
    op.create_table(
        "statistics_releases",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=False),
        sa.Column("released_by", sa.String(32), nullable=True),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("protection", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.Column("audit_hash", sa.String(64), nullable=True),
        sa.Column("tables", sa.Text(), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["released_by"], ["users.id"],
                                name=op.f("fk_statistics_releases_released_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_releases")),
    )
    op.create_index("ix_statistics_releases_period", "statistics_releases",
                    ["period", "released_at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_api_tokens_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )


def downgrade() -> None:
    """Back to 0010."""
    op.drop_table("api_tokens")
    op.drop_index("ix_statistics_releases_period", table_name="statistics_releases")
    op.drop_table("statistics_releases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("recovered_sek")
        batch.drop_column("damage_estimate_sek")
