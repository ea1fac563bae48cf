"""accounts: staff invitations and agents' notification settings

Revision ID: a7c3e9d2f4b1
Revises: 7a3c9e51d2b8
Create Date: 2026-11-30 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e9d2f4b1"
down_revision: str | Sequence[str] | None = "7a3c9e51d2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), nullable=False, server_default="customer")
        )
        batch_op.add_column(
            sa.Column("name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("queues", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("require_totp", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("account_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_check_constraint("kind", "kind IN ('customer', 'staff')")
        batch_op.create_check_constraint(
            "account",
            "(kind = 'customer' AND account_id IS NOT NULL)"
            " OR (kind = 'staff' AND account_id IS NULL)",
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_new_ticket", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "notify_customer_reply", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("notify_sla_warning", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("notify_sla_warning")
        batch_op.drop_column("notify_customer_reply")
        batch_op.drop_column("notify_new_ticket")
    op.execute("DELETE FROM invitations WHERE kind = 'staff'")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invitations_account"), type_="check")
        batch_op.drop_constraint(op.f("ck_invitations_kind"), type_="check")
        batch_op.alter_column("account_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("require_totp")
        batch_op.drop_column("queues")
        batch_op.drop_column("roles")
        batch_op.drop_column("name")
        batch_op.drop_column("kind")
