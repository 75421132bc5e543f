"""Where an envelope came from: intake (the tipster's side) or casework (staff).

A compromised intake server can sign anything it likes, so casework never trusts the
payload of an imported item to say who wrote it: the row records that it came through
the bridge, and such items are always shown as the tipster's.

Existing rows: reports, files and identities came from intake. Messages are left as
casework's: before this revision there was no production data, and a wrong guess here
would only mislabel, never expose, an item (the domain layer decides who may read it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add case_envelopes.origin, filled for existing rows."""
    with op.batch_alter_table("case_envelopes") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=16), nullable=False,
                                   server_default="casework"))
    op.execute("UPDATE case_envelopes SET origin = 'intake' "
               "WHERE kind IN ('report', 'file', 'identity')")


def downgrade() -> None:
    """Drop case_envelopes.origin."""
    with op.batch_alter_table("case_envelopes") as batch:
        batch.drop_column("origin")
