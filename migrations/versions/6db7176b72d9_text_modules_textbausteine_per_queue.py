"""text modules (Textbausteine) per queue

Revision ID: 6db7176b72d9
Revises: 4d722083a866
Create Date: 2026-11-30 00:48:05.593059
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.db

revision: str = "6db7176b72d9"
down_revision: str | Sequence[str] | None = "4d722083a866"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_modules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_modules")),
        sa.UniqueConstraint("queue", "title", name="uq_text_modules_queue_title"),
    )
    with op.batch_alter_table("text_modules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_text_modules_queue"), ["queue"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("text_modules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_text_modules_queue"))

    op.drop_table("text_modules")
