"""Case access: who may find a case (case_readers), a tag over its readers, agency codes.

* ``case_readers(case_id, user_id)``: the people whose key is in a case's report header,
  so the inbox filters by readership in SQL (a reviewer the tipster excluded no longer
  sees the case in the inbox). Filled here from the existing report headers.
* ``cases.readers_tag``: a MAC over the reader list under the report's content key; only
  a reader can make it, so existing cases get theirs the next time a reader opens them.
* ``cases.agency`` held a free-text "other agency" the tipster typed, in plaintext: it
  now holds only a code of common.vocabulary.AGENCIES. The text stays in the sealed
  report; the codes are copied here (a migration must not change with the app's lists).
  Downgrading cannot bring the free text back (it is still in each sealed report).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crypto

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The agency names intake offered when this revision was written, and their codes.
_AGENCY_CODES = {
    "arbetsförmedlingen": "arbetsformedlingen",
    "försäkringskassan": "forsakringskassan",
    "kommun": "kommun",
    "migrationsverket": "migrationsverket",
    "polismyndigheten": "polismyndigheten",
    "region": "region",
    "skatteverket": "skatteverket",
    "trafikverket": "trafikverket",
}


def _fill_readers(conn: sa.Connection) -> None:
    users = {crypto.key_id_of(bytes(public_key)): user_id for user_id, public_key in
             conn.execute(sa.text("SELECT id, public_key FROM users "
                                  "WHERE public_key IS NOT NULL"))}
    reports = conn.execute(sa.text("SELECT case_id, header FROM case_envelopes "
                                   "WHERE kind = 'report'")).all()
    rows = [{"case_id": case_id, "user_id": users[key_id]}
            for case_id, header in reports
            for key_id in set(crypto.header_key_ids(bytes(header))) if key_id in users]
    if rows:
        conn.execute(sa.text("INSERT INTO case_readers (case_id, user_id) "
                             "VALUES (:case_id, :user_id)"), rows)


def _codes_for_agencies(conn: sa.Connection) -> None:
    for case_id, agency in conn.execute(sa.text(
            "SELECT id, agency FROM cases WHERE agency IS NOT NULL")).all():
        value = str(agency).strip()
        code = value if value in _AGENCY_CODES.values() \
            else _AGENCY_CODES.get(value.casefold(), "other")
        conn.execute(sa.text("UPDATE cases SET agency = :code WHERE id = :id"),
                     {"code": code, "id": case_id})


def upgrade() -> None:
    """Create case_readers, add cases.readers_tag, replace free-text agencies by codes."""
    op.create_table(
        "case_readers",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_readers_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_case_readers_user_id_users")),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_readers")),
    )
    op.create_index(op.f("ix_case_readers_user_id"), "case_readers", ["user_id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("readers_tag", sa.LargeBinary(length=32), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # Overwrite the free text on disk rather than leave it in freed pages.
        conn.execute(sa.text("PRAGMA secure_delete = ON"))
    _fill_readers(conn)
    _codes_for_agencies(conn)


def downgrade() -> None:
    """Drop case_readers and cases.readers_tag (agencies stay codes)."""
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("readers_tag")
    op.drop_index(op.f("ix_case_readers_user_id"), table_name="case_readers")
    op.drop_table("case_readers")
