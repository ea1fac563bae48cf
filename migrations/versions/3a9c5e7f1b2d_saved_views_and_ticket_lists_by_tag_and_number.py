"""saved views per agent; ticket lists by tag and, for customers, by number

Revision ID: 3a9c5e7f1b2d
Revises: 6db7176b72d9
Create Date: 2026-11-30 02:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.db

revision: str = "3a9c5e7f1b2d"
down_revision: str | Sequence[str] | None = "6db7176b72d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The console's tag filter asks ``tags::jsonb @> ...`` (tickets.tags); SQLite reads json_each.
POSTGRESQL_UP = "CREATE INDEX ix_tickets_tags ON tickets USING gin ((tags::jsonb))"
POSTGRESQL_DOWN = "DROP INDEX IF EXISTS ix_tickets_tags"


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),
    )
    op.create_index("ix_tickets_account_number", "tickets", ["account_id", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_DOWN)
    op.drop_index("ix_tickets_account_number", table_name="tickets")
    op.drop_table("saved_views")
