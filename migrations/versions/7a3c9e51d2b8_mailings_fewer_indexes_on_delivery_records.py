"""mailings: fewer indexes on delivery records, for audience resolution at scale

The account's index is folded into the unique constraint (now led by the account), the
address index served no query, the retry index holds only records in flight, and the
"Nachsenden" link gets the index its ON DELETE SET NULL needs (deleting an account read every
delivery record once per deleted record). See docs/performance.md, "Audience resolution".

Revision ID: 7a3c9e51d2b8
Revises: a3c5e7f90b12
Create Date: 2026-11-30 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a3c9e51d2b8"
down_revision: str | Sequence[str] | None = "a3c5e7f90b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_FLIGHT = sa.text("state IN ('sending', 'deferred')")
RESENDS = sa.text("resend_of_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("mailing_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_mailing_deliveries_address", type_="unique")
        batch_op.create_unique_constraint(
            "uq_mailing_deliveries_address", ["account_id", "mailing_id", "address"]
        )
        batch_op.drop_index("ix_mailing_deliveries_account")
        batch_op.drop_index("ix_mailing_deliveries_address")
        batch_op.drop_index("ix_mailing_deliveries_state_next_attempt")
        batch_op.create_index(
            "ix_mailing_deliveries_state_next_attempt",
            ["state", "next_attempt_at"],
            postgresql_where=IN_FLIGHT,
            sqlite_where=IN_FLIGHT,
        )
        batch_op.create_index(
            "ix_mailing_deliveries_resend_of_id",
            ["resend_of_id"],
            postgresql_where=RESENDS,
            sqlite_where=RESENDS,
        )


def downgrade() -> None:
    with op.batch_alter_table("mailing_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_mailing_deliveries_resend_of_id")
        batch_op.drop_index("ix_mailing_deliveries_state_next_attempt")
        batch_op.create_index(
            "ix_mailing_deliveries_state_next_attempt", ["state", "next_attempt_at"]
        )
        batch_op.create_index("ix_mailing_deliveries_address", ["address"])
        batch_op.create_index("ix_mailing_deliveries_account", ["account_id", "mailing_id"])
        batch_op.drop_constraint("uq_mailing_deliveries_address", type_="unique")
        batch_op.create_unique_constraint(
            "uq_mailing_deliveries_address", ["mailing_id", "account_id", "address"]
        )
