"""tickets: indexes for lists, search and reports at scale

Revision ID: b61f29a0b8f5
Revises: eed93e36b976
Create Date: 2026-11-29 23:14:42.103022

Each index serves a query named in docs/performance.md, where its plan at a million tickets
is shown. The plain ones are in the models; the expression and partial ones on PostgreSQL are
written here by hand; the embedded SQLite default gets only the plain ones, its data sets
are small (``tickets.search.HAND_WRITTEN_INDEXES`` keeps them out of model
comparisons). Their expressions are the sort key of ``tickets.listing.DUE_FIRST``: what is due
first, then priority, then age. A change there needs a migration here, and the plan test
(tests/integration/tickets/test_query_plans.py) fails until it has one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b61f29a0b8f5"
down_revision: str | Sequence[str] | None = "eed93e36b976"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "coalesce(sla_next_due_at, '9999-12-31 00:00:00+00'::timestamptz)"
RANK = (
    "(CASE effective_priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
    " WHEN 'normal' THEN 2 WHEN 'low' THEN 3 END)"
)
OPEN = "status IN ('new', 'open', 'waiting')"
POSTGRESQL_UP = (
    # The search document stored once per ticket: a search checks tickets in list order one by
    # one (tickets.listing), which recomputing to_tsvector made cost ~40 µs a ticket.
    "ALTER TABLE tickets ADD COLUMN search_document tsvector GENERATED ALWAYS AS"
    " (to_tsvector('german', coalesce(subject, '') || ' ' || coalesce(body, ''))) STORED",
    "DROP INDEX ix_tickets_fulltext",
    "CREATE INDEX ix_tickets_fulltext ON tickets USING gin (search_document)",
    # Search by e-mail address compares lower(reply_to).
    "CREATE INDEX ix_tickets_reply_to_lower ON tickets (lower(reply_to))",
    # The console's queues: open tickets of one queue, or of all, due first.
    # The priority is included so that the queue counts read only this small index.
    f"CREATE INDEX ix_tickets_open_queue_due ON tickets (queue, {DUE}, {RANK}, created_at, id)"
    f" INCLUDE (effective_priority) WHERE {OPEN}",
    f"CREATE INDEX ix_tickets_open_due ON tickets ({DUE}, {RANK}, created_at, id) WHERE {OPEN}",
    # Every status (the "alle" filter, search hits): years of closed tickets in the same order.
    f"CREATE INDEX ix_tickets_queue_due ON tickets (queue, {DUE}, {RANK}, created_at, id)",
    f"CREATE INDEX ix_tickets_due ON tickets ({DUE}, {RANK}, created_at, id)",
)
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_tickets_due",
    "DROP INDEX IF EXISTS ix_tickets_queue_due",
    "DROP INDEX IF EXISTS ix_tickets_open_due",
    "DROP INDEX IF EXISTS ix_tickets_open_queue_due",
    "DROP INDEX IF EXISTS ix_tickets_reply_to_lower",
    "DROP INDEX ix_tickets_fulltext",
    "ALTER TABLE tickets DROP COLUMN search_document",
    "CREATE INDEX ix_tickets_fulltext ON tickets USING gin "
    "(to_tsvector('german', coalesce(subject, '') || ' ' || coalesce(body, '')))",
)


def upgrade() -> None:
    op.drop_index("ix_tickets_account_id", table_name="tickets")
    op.create_index("ix_tickets_account_updated", "tickets", ["account_id", "updated_at", "id"])
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    op.create_index("ix_tickets_requester_id", "tickets", ["requester_id"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWN:
            op.execute(statement)
    op.drop_index("ix_tickets_requester_id", table_name="tickets")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_index("ix_tickets_account_updated", table_name="tickets")
    op.create_index("ix_tickets_account_id", "tickets", ["account_id"])
