"""tickets belong to an account, a requester and an assignee

Revision ID: 28aacd4bc933
Revises: 12cb21c45e43
Create Date: 2026-11-23 11:51:10.167451
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "28aacd4bc933"
down_revision: str | Sequence[str] | None = "12cb21c45e43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("requester_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_account_id_accounts"),
            "accounts",
            ["account_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_assignee_id_users"),
            "users",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_requester_id_users"),
            "users",
            ["requester_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tickets_requester_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tickets_assignee_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tickets_account_id_accounts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickets_assignee_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_account_id"))
        batch_op.drop_column("assignee_id")
        batch_op.drop_column("requester_id")
        batch_op.drop_column("account_id")
