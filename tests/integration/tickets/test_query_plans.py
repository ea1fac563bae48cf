"""On PostgreSQL, the console's and portal's pages read tickets through indexes, never end to end.

A modest data set (tests/scale_data.py, the generator of bench/scale.py) is built with
INSERT ... SELECT and analysed; then each page is opened through the app and every statement
it ran on tickets is explained. docs/performance.md shows the same plans at a million tickets.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests import scale_data
from tests.integration.accounts.factories import sign_in
from tests.query_plans import captured, plan, sequential_scans

TICKETS = 20_000
# The index each page must be read through (besides never scanning tickets end to end).
EXPECTED_INDEX = {
    "queue, first page (each queue)": "ix_tickets_open_queue_due",
    "queue, open, page 4 (cursor)": "ix_tickets_open_queue_due",
    "due soon (all queues, due first)": "ix_tickets_open_due",
    "search rare word": "ix_tickets_fulltext",
    "customer's ticket list": "ix_tickets_account_updated",
    "filter tag": "ix_tickets_tags",
    "SLA report, 4 weeks": "ix_tickets_created_at",
}


class InProcess:
    """Signed in by session for the pages, with the bearer token for /api/."""

    def __init__(self, client, login: scale_data.Login) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {login.token}"}
        sign_in(client, login.email, login.password)

    def get(self, path: str) -> tuple[int, float, bytes]:
        response = self.client.get(path, headers=self.headers)
        return response.status_code, 0.0, response.get_data()


@pytest.fixture
def scaled(app, runtime, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "query plans are PostgreSQL's; run with TEST_DATABASE_URL=postgresql+psycopg://…"
        )
    size = scale_data.Size(TICKETS, 2_000)
    with runtime.db.engine.begin() as connection:
        scale_data.build(connection, size, datetime.now(UTC), lambda *_: None)
    with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE tickets, ticket_messages, ticket_events, accounts, users")
        )
    return size


def test_every_page_reads_tickets_through_an_index(app, runtime, scaled):
    staff, customer, agent_id = scale_data.logins(runtime)
    clients = {
        "staff": InProcess(app.test_client(), staff),
        "customer": InProcess(app.test_client(), customer),
    }
    engine = app.extensions["runtime"].db.engine
    problems = []
    for page, who, path, expected_status in scale_data.pages(clients["staff"], scaled, agent_id):
        with captured(engine) as statements:
            status, _, _ = clients[who].get(path(0))
        assert status == expected_status, page
        plans = [plan(engine, statement) for statement in statements if statement.reads]
        if any("tickets" in sequential_scans(text_plan) for text_plan in plans):
            problems.append(f"{page}: reads every ticket")
        expected = EXPECTED_INDEX.get(page)
        if expected and not any(expected in text_plan for text_plan in plans):
            problems.append(f"{page}: does not use {expected}")

    assert problems == []
