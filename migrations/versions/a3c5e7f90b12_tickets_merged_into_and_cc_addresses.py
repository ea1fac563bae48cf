"""a ticket merged into another points to it; answers and outbound mails carry Cc addresses

Revision ID: a3c5e7f90b12
Revises: 3a9c5e7f1b2d
Create Date: 2026-11-30 02:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3c5e7f90b12"
down_revision: str | Sequence[str] | None = "3a9c5e7f1b2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Batch mode recreates ``tickets`` on SQLite, which drops the triggers that keep the full-text
# table in step (migration 5e2f8a7c1d90); when that table exists they are created again.
FTS_TRIGGERS = (
    "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, subject, body) "
    "VALUES ('delete', old.id, old.subject, old.body); END",
    "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, body ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, subject, body) "
    "VALUES ('delete', old.id, old.subject, old.body); "
    "INSERT INTO tickets_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END",
)


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_merged_into_id_tickets"),
            "tickets",
            ["merged_into_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_tickets_merged_into_other"), "merged_into_id <> id"
        )
    _restore_fts_triggers()
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cc", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cc", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("cc")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_column("cc")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_tickets_merged_into_other"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tickets_merged_into_id"))
        batch_op.drop_column("merged_into_id")
    _restore_fts_triggers()


def _restore_fts_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    found = bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tickets_fts'")
    ).first()
    if found is None:
        return
    for name in ("tickets_fts_insert", "tickets_fts_delete", "tickets_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in FTS_TRIGGERS:
        op.execute(statement)
