"""The workflow and the audit log: stage changes, escalations, conflicts, labels, links,
the case's outcome, priority and merge, envelope generations, and the audit chain.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    """Create the workflow and audit tables; add the case's and envelope's new columns."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("concluded_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("priority", sa.String(length=16), nullable=False,
                                   server_default="normal"))
        batch.add_column(sa.Column("merged_into_id", sa.String(length=32), nullable=True))
        batch.create_foreign_key(op.f("fk_cases_merged_into_id_cases"), "cases",
                                 ["merged_into_id"], ["id"])
    with op.batch_alter_table("case_envelopes") as batch:
        batch.add_column(sa.Column("generation", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_table(
        "stage_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=False),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason_envelope_id", sa.String(length=32), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("stage_changes", "case_id", "cases"),
        _fk("stage_changes", "actor_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_changes")),
    )
    op.create_index("ix_stage_changes_case_at", "stage_changes", ["case_id", "at"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason_envelope_id", sa.String(length=32), nullable=True),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("escalations", "case_id", "cases"),
        _fk("escalations", "actor_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index("ix_escalations_case_at", "escalations", ["case_id", "at"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("reason_envelope_id", sa.String(length=32), nullable=True),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("rekeyed_at", sa.DateTime(), nullable=True),
        sa.Column("rekeyed_by", sa.String(length=32), nullable=True),
        _fk("conflicts", "case_id", "cases"),
        _fk("conflicts", "user_id", "users"),
        sa.ForeignKeyConstraint(["rekeyed_by"], ["users.id"],
                                name=op.f("fk_conflicts_rekeyed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
    )
    op.create_index("ix_conflicts_user_case", "conflicts", ["user_id", "case_id"])
    op.create_index("ix_conflicts_case_rekeyed", "conflicts", ["case_id", "rekeyed_at"])
    op.create_table(
        "case_labels",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        _fk("case_labels", "case_id", "cases"),
        sa.PrimaryKeyConstraint("case_id", "label", name=op.f("pk_case_labels")),
    )
    op.create_index("ix_case_labels_label", "case_labels", ["label", "case_id"])
    op.create_table(
        "case_links",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("linked_case_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("case_links", "case_id", "cases"),
        sa.ForeignKeyConstraint(["linked_case_id"], ["cases.id"],
                                name=op.f("fk_case_links_linked_case_id_cases")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_case_links_created_by_users")),
        sa.PrimaryKeyConstraint("case_id", "linked_case_id", name=op.f("pk_case_links")),
    )
    op.create_index(op.f("ix_case_links_linked_case_id"), "case_links", ["linked_case_id"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_case_seq", "audit_entries", ["case_id", "seq"])
    op.create_index("ix_audit_entries_actor_seq", "audit_entries", ["actor_id", "seq"])
    op.create_index("ix_audit_entries_action_seq", "audit_entries", ["action", "seq"])
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_table("audit_checkpoints")
    for name in ("ix_audit_entries_at", "ix_audit_entries_action_seq",
                 "ix_audit_entries_actor_seq", "ix_audit_entries_case_seq"):
        op.drop_index(name, table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_index(op.f("ix_case_links_linked_case_id"), table_name="case_links")
    op.drop_table("case_links")
    op.drop_index("ix_case_labels_label", table_name="case_labels")
    op.drop_table("case_labels")
    op.drop_index("ix_conflicts_case_rekeyed", table_name="conflicts")
    op.drop_index("ix_conflicts_user_case", table_name="conflicts")
    op.drop_table("conflicts")
    op.drop_index("ix_escalations_case_at", table_name="escalations")
    op.drop_table("escalations")
    op.drop_index("ix_stage_changes_case_at", table_name="stage_changes")
    op.drop_table("stage_changes")
    with op.batch_alter_table("case_envelopes") as batch:
        batch.drop_column("generation")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(op.f("fk_cases_merged_into_id_cases"), type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("priority")
        batch.drop_column("concluded_on")
        batch.drop_column("outcome")
