"""ops: discarded outbox messages, audit entries without an account

Revision ID: 4167bf3f5c51
Revises: eed93e36b976
Create Date: 2026-11-29 23:36:00.228714
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4167bf3f5c51"
down_revision: str | Sequence[str] | None = "eed93e36b976"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_STATES = "state IN ('queued', 'sending', 'sent', 'deferred', 'failed')"
NEW_STATES = "state IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'discarded')"


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=sa.INTEGER(), nullable=True)
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_messages_state"), type_="check")
        batch_op.create_check_constraint("state", NEW_STATES)


def downgrade() -> None:
    op.execute("UPDATE outbound_messages SET state = 'failed' WHERE state = 'discarded'")
    op.execute("DELETE FROM audit_entries WHERE account_id IS NULL")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_messages_state"), type_="check")
        batch_op.create_check_constraint("state", OLD_STATES)
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=sa.INTEGER(), nullable=False)
