"""tickets opened by a reply to a mandatory mailing link to it

Revision ID: c4e1d2a9b7f3
Revises: badf27dab54c, 123835baab0f
Create Date: 2026-11-23 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e1d2a9b7f3"
down_revision: str | Sequence[str] | None = ("badf27dab54c", "123835baab0f")
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
        batch_op.add_column(sa.Column("mailing_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_mailing_id"), ["mailing_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_mailing_id_mailings"),
            "mailings",
            ["mailing_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _restore_fts_triggers()


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tickets_mailing_id_mailings"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickets_mailing_id"))
        batch_op.drop_column("mailing_id")
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
