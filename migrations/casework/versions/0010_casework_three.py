"""Casework III: identity requests, oral reports, deadline extensions and reminders, legal
holds and purges, intake commands, staff e-mail addresses for reminders; and the label
filter's date index.

``case_labels`` gets a copy of its case's ``received_on`` (filled here for existing rows)
so the label filter pages through one label's cases in date order from an index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(32), nullable=False)


def upgrade() -> None:
    """Add the tables and columns of Casework III."""
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("feedback_extended", sa.Boolean(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("purged_on", sa.Date(), nullable=True))
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))

    with op.batch_alter_table("case_labels") as batch:
        batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))
    op.execute(sa.text(
        "UPDATE case_labels SET received_on = (SELECT cases.received_on FROM cases "
        "WHERE cases.id = case_labels.case_id)"))
    with op.batch_alter_table("case_labels") as batch:
        batch.alter_column("received_on", existing_type=sa.Date(), nullable=False)
    op.drop_index("ix_case_labels_label", table_name="case_labels")
    op.create_index("ix_case_labels_label_received", "case_labels",
                    ["label", "received_on", "case_id"])

    op.create_table(
        "identity_requests",
        _id(),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("requester_id", sa.String(32), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("reason_envelope_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_code", sa.String(32), nullable=True),
        sa.Column("decision_envelope_id", sa.String(32), nullable=True),
        sa.Column("notice", sa.String(16), nullable=True),
        sa.Column("notice_envelope_id", sa.String(32), nullable=True),
        sa.Column("first_read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_identity_requests_case_id_cases")),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"],
                                name=op.f("fk_identity_requests_requester_id_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"],
                                name=op.f("fk_identity_requests_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_requests")),
    )
    op.create_index("ix_identity_requests_case_at", "identity_requests",
                    ["case_id", "requested_at"])
    op.create_index("ix_identity_requests_status", "identity_requests",
                    ["status", "requested_at"])

    op.create_table(
        "oral_reports",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("minutes_envelope_id", sa.String(32), nullable=True),
        sa.Column("minutes_status", sa.String(16), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_oral_reports_case_id_cases")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"],
                                name=op.f("fk_oral_reports_recorded_by_users")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_oral_reports")),
    )

    op.create_table(
        "feedback_extensions",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("reason_envelope_id", sa.String(32), nullable=True),
        sa.Column("extended_by", sa.String(32), nullable=False),
        sa.Column("extended_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_feedback_extensions_case_id_cases")),
        sa.ForeignKeyConstraint(["extended_by"], ["users.id"],
                                name=op.f("fk_feedback_extensions_extended_by_users")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_feedback_extensions")),
    )

    op.create_table(
        "reminders_sent",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_reminders_sent_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "kind", "deadline", name=op.f("pk_reminders_sent")),
    )

    op.create_table(
        "legal_holds",
        _id(),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("reason_envelope_id", sa.String(32), nullable=True),
        sa.Column("placed_by", sa.String(32), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("lifted_by", sa.String(32), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_legal_holds_case_id_cases")),
        sa.ForeignKeyConstraint(["placed_by"], ["users.id"],
                                name=op.f("fk_legal_holds_placed_by_users")),
        sa.ForeignKeyConstraint(["lifted_by"], ["users.id"],
                                name=op.f("fk_legal_holds_lifted_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_case_lifted", "legal_holds", ["case_id", "lifted_at"])

    op.create_table(
        "intake_commands",
        _id(),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_intake_commands_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_commands")),
    )
    op.create_index("ix_intake_commands_delivered", "intake_commands",
                    ["delivered_at", "created_at"])


def downgrade() -> None:
    """Back to 0009."""
    op.drop_index("ix_intake_commands_delivered", table_name="intake_commands")
    op.drop_table("intake_commands")
    op.drop_index("ix_legal_holds_case_lifted", table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("reminders_sent")
    op.drop_table("feedback_extensions")
    op.drop_table("oral_reports")
    op.drop_index("ix_identity_requests_status", table_name="identity_requests")
    op.drop_index("ix_identity_requests_case_at", table_name="identity_requests")
    op.drop_table("identity_requests")
    op.drop_index("ix_case_labels_label_received", table_name="case_labels")
    op.create_index("ix_case_labels_label", "case_labels", ["label", "case_id"])
    with op.batch_alter_table("case_labels") as batch:
        batch.drop_column("received_on")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("retention_days")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("purged_on")
        batch.drop_column("feedback_extended")
