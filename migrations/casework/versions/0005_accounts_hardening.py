"""Accounts hardening: server-side enrolments, throttling of unknown names, sealed TOTP
secrets, and key changes that wait for a second administrator.

- ``enrolments``: a checked password waiting for TOTP set-up. The cookie holds only the
  row's random id; completing the enrolment deletes the row (single use).
- ``sign_in_throttle``: failure counters for names that are not accounts, keyed by an
  HMAC of the name, so that lockout answers the same for known and unknown names.
- ``users.last_failed_at``: counters of both kinds are forgotten a day after the last
  failure (the same rule for both).
- ``users.totp_secret`` widens to hold the sealed form (``sealed:`` + base64).
  A migration cannot seal: the key (``totp.key``) is in the instance folder, never in the
  database or in this script. The app seals every plaintext secret at start-up instead
  (idempotent: the prefix marks what is already sealed), so the window is one start.
  Downgrading keeps the sealed values (a shorter column would truncate them): an old
  version of the app cannot read them, and people would re-enrol after a reset.
- ``users.approved_public_key`` / ``key_reset_by``: the directory publishes the approved
  key. Existing keys are approved as they are (they were published before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two tables and the new user columns; approve the keys already in use."""
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_enrolments_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_enrolments"),
    )
    op.create_index("ix_enrolments_user_id", "enrolments", ["user_id"], unique=False)
    op.create_table(
        "sign_in_throttle",
        sa.Column("name_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name_hash", name="pk_sign_in_throttle"),
    )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(length=64),
                           type_=sa.String(length=200), existing_nullable=True)
        batch.add_column(sa.Column("last_failed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("approved_public_key", sa.LargeBinary(length=32),
                                   nullable=True))
        batch.add_column(sa.Column("key_reset_by", sa.String(length=64), nullable=True))
    op.execute("UPDATE users SET approved_public_key = public_key")


def downgrade() -> None:
    """Drop what upgrade added (sealed TOTP secrets stay sealed, see the docstring)."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("key_reset_by")
        batch.drop_column("approved_public_key")
        batch.drop_column("last_failed_at")
    op.drop_table("sign_in_throttle")
    op.drop_index("ix_enrolments_user_id", table_name="enrolments")
    op.drop_table("enrolments")
