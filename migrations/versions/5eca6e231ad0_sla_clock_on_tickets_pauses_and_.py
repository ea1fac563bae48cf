"""SLA clock on tickets, pauses and escalation steps

Revision ID: 5eca6e231ad0
Revises: 123835baab0f
Create Date: 2026-11-23 11:59:33.302588
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.db

revision: str = "5eca6e231ad0"
down_revision: str | Sequence[str] | None = "123835baab0f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("due_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fire_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("created_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "step IN ('warn_first_response', 'breach_first_response', 'warn_next_response', 'breach_next_response', 'warn_resolution', 'breach_resolution', 'page')",
            name=op.f("ck_sla_escalations_step"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_escalations_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_escalations")),
        sa.UniqueConstraint("ticket_id", "step", "due_at", name="uq_sla_escalations_step"),
    )
    with op.batch_alter_table("sla_escalations", schema=None) as batch_op:
        batch_op.create_index("ix_sla_escalations_pending", ["fired_at", "fire_at"], unique=False)

    op.create_table(
        "ticket_sla_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("started_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_ticket_sla_pauses_span")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_sla_pauses_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_sla_pauses")),
    )
    with op.batch_alter_table("ticket_sla_pauses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_sla_pauses_ticket_id"), ["ticket_id"], unique=False
        )

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("support_level", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("sla_key", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("sla_status", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("sla_next_due_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "first_response_due_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("next_response_due_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution_due_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("first_responded_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("awaiting_reply_since", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolved_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("first_response_minutes", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("resolution_minutes", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "first_response_breached", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "next_response_breached", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "resolution_breached", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("paging_since", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("acknowledged_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=320), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tickets_sla_next_due_at"), ["sla_next_due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_sla_next_due_at"))
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("paging_since")
        batch_op.drop_column("resolution_breached")
        batch_op.drop_column("next_response_breached")
        batch_op.drop_column("first_response_breached")
        batch_op.drop_column("resolution_minutes")
        batch_op.drop_column("first_response_minutes")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("awaiting_reply_since")
        batch_op.drop_column("first_responded_at")
        batch_op.drop_column("resolution_due_at")
        batch_op.drop_column("next_response_due_at")
        batch_op.drop_column("first_response_due_at")
        batch_op.drop_column("sla_next_due_at")
        batch_op.drop_column("sla_status")
        batch_op.drop_column("sla_key")
        batch_op.drop_column("support_level")

    with op.batch_alter_table("ticket_sla_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_sla_pauses_ticket_id"))

    op.drop_table("ticket_sla_pauses")
    with op.batch_alter_table("sla_escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_escalations_pending")

    op.drop_table("sla_escalations")
