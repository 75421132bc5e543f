"""Initial casework schema: units, users, memberships, sessions, cases, envelopes, exports.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Ordinary rowid tables, as in ``casework.models``. Column defaults are Python-side
(``default=``) in the models, so no server defaults are created here. Constraint and
index names follow ``casework.models.base.NAMING_CONVENTION``.
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
    """Create the seven casework tables."""
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name_sv", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("alternate_unit_id", sa.String(length=32), nullable=True),
        sa.Column("receives_reports", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_confirmed", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_memberships_unit_id_units"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_memberships_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", "unit_id", name="pk_memberships"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("locked_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_staff_sessions_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"], unique=False)
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("agency", sa.String(length=300), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("feedback_on", sa.Date(), nullable=True),
        sa.Column("tipster_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("intake_receipt_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_cases_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("intake_receipt_id", name="uq_cases_intake_receipt_id"),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
    )
    # The inbox is read per unit, newest first, in pages: keyset on (unit, received, id).
    op.create_index(
        "ix_cases_unit_received", "cases", ["unit_id", "received_on", "id"], unique=False
    )
    op.create_index("ix_cases_stage", "cases", ["stage"], unique=False)
    op.create_table(
        "case_envelopes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("header", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name="fk_case_envelopes_author_id_users"
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_envelopes_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_case_envelopes"),
    )
    op.create_index("ix_case_envelopes_case_id", "case_envelopes", ["case_id"], unique=False)
    op.create_table(
        "directory_exports",
        sa.Column("serial", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("serial", name="pk_directory_exports"),
    )


def downgrade() -> None:
    """Drop the seven casework tables (and everything in them)."""
    op.drop_table("directory_exports")
    op.drop_index("ix_case_envelopes_case_id", table_name="case_envelopes")
    op.drop_table("case_envelopes")
    op.drop_index("ix_cases_stage", table_name="cases")
    op.drop_index("ix_cases_unit_received", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("memberships")
    op.drop_table("users")
    op.drop_table("units")
