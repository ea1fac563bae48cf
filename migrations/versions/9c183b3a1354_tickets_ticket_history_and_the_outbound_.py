"""tickets, ticket history and the outbound mail outbox

Revision ID: 9c183b3a1354
Revises:
Create Date: 2026-11-23 11:45:31.986320
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import helpdesk.db

revision: str = "9c183b3a1354"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=False),
        sa.Column("product_family", sa.String(length=120), nullable=False),
        sa.Column("component", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=120), nullable=True),
        sa.Column("subject", sa.String(length=250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("requested_priority", sa.String(length=10), nullable=False),
        sa.Column("effective_priority", sa.String(length=10), nullable=False),
        sa.Column("queue", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("sla_policy", sa.String(length=60), nullable=True),
        sa.Column("emergency_review", sa.Boolean(), nullable=False),
        sa.Column("routing_rule", sa.String(length=120), nullable=False),
        sa.Column("routing_rule_line", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('web', 'api', 'email', 'phone')", name=op.f("ck_tickets_channel")
        ),
        sa.CheckConstraint(
            "effective_priority IN ('low', 'normal', 'high', 'critical')",
            name=op.f("ck_tickets_effective_priority"),
        ),
        sa.CheckConstraint(
            "requested_priority IN ('low', 'normal', 'high', 'critical')",
            name=op.f("ck_tickets_requested_priority"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'waiting', 'resolved', 'closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_queue_status", ["queue", "status"], unique=False)

    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("template", sa.String(length=80), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=250), nullable=True),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("smtp_reply", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'deferred', 'failed')",
            name=op.f("ck_outbound_messages_state"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_outbound_messages_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbound_messages_dedupe_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbound_messages_message_id")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbound_messages_state_updated_at", ["state", "updated_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("quoted", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.Column("created_at", helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('customer', 'agent', 'internal')", name=op.f("ck_ticket_messages_kind")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_ticket_messages_message_id")),
    )
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_messages_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("ticket_messages")
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_ticket_id"))
        batch_op.drop_index("ix_outbound_messages_state_updated_at")

    op.drop_table("outbound_messages")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_queue_status")

    op.drop_table("tickets")
