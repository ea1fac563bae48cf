"""Merges racing each other and a mail reply, on PostgreSQL's row locks.

The test holds the tickets' row locks itself, lets the racing calls queue up behind it (seen in
``pg_stat_activity``), then lets go: what PostgreSQL does next is what production does when the
calls arrive in that order. SQLite serialises every write transaction (BEGIN IMMEDIATE), so
there is no interleaving to test there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, func, select, text

from notifications.outbox.models import OutboundMessage
from tests.integration.tickets.merge_factories import accounting_agent, duplicates
from tests.support import wait_until
from tickets import merging, thread
from tickets.access import TicketMerged
from tickets.inbound.services import take_message
from tickets.models import Ticket, TicketMessage
from tickets.services import ValidationError


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; run with TEST_DATABASE_URL=postgresql+psycopg://…")
    return database_url


@dataclass
class HeldRows:
    """Row locks the test holds, and a second connection that watches who waits for them."""

    holder: Connection
    watcher: Connection

    def queued(self, count: int) -> Callable[[], bool]:
        """Whether ``count`` other sessions wait for a lock in this database."""

        def waiting() -> bool:
            # The watcher runs in autocommit: inside a transaction pg_stat_activity is a
            # snapshot taken at its first use.
            found = self.watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            return found >= count

        return waiting

    def release(self) -> None:
        self.holder.rollback()


@contextmanager
def rows_held(url: str, *ticket_ids: int) -> Iterator[HeldRows]:
    """Hold the row locks of ``ticket_ids`` until ``release`` (or the end of the block)."""
    engine = create_engine(url)
    try:
        with engine.connect() as holder, engine.connect() as watcher:
            watcher.execution_options(isolation_level="AUTOCOMMIT")
            holder.execute(
                text("SELECT id FROM tickets WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
                {"ids": list(ticket_ids)},
            )
            yield HeldRows(holder, watcher)
            holder.rollback()
    finally:
        engine.dispose()


def _outcome(future: Future[Any]) -> str:
    try:
        future.result(timeout=30)
    except (ValidationError, TicketMerged):
        return "refused"
    return "merged"


def _messages(runtime, ticket_id: int) -> list[str]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(TicketMessage.body)
                .where(TicketMessage.ticket_id == ticket_id)
                .order_by(TicketMessage.id)
            )
        )


@pytest.mark.parametrize("threaded_by", ["in-reply-to", "subject"])
def test_a_mail_reply_arriving_during_the_merge_waits_and_lands_in_the_target(
    runtime, postgres, threaded_by
):
    world = duplicates(runtime)
    with runtime.db.session() as session:
        acknowledgement = session.scalars(
            select(OutboundMessage.message_id).where(
                OutboundMessage.ticket_id == world.duplicate.id
            )
        ).one()
    mail = EmailMessage()
    mail["From"] = "chefin@kunde.example"
    mail["To"] = runtime.settings.mail_from
    mail["Subject"] = f"AW: [{world.duplicate.number}] Lizenz gesperrt"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@kunde.example>"
    if threaded_by == "in-reply-to":
        mail["In-Reply-To"] = acknowledgement
    mail.set_content("Die Rechnungsnummer ist 4711.")

    with ThreadPoolExecutor(2) as pool, rows_held(postgres, world.duplicate.id) as held:
        merge = pool.submit(
            merging.merge, runtime, accounting_agent(), world.duplicate.number, world.kept.number
        )
        wait_until(held.queued(1), what="the merge to wait for the duplicate's row")
        reply = pool.submit(
            take_message, runtime, mail.as_bytes(), mailbox=runtime.settings.mail_from
        )
        wait_until(held.queued(2), what="the mail reply to wait behind the merge")
        held.release()
        outcome = reply.result(timeout=30)
        assert _outcome(merge) == "merged"

    assert (outcome.action, outcome.ticket) == ("appended", world.kept.number)
    assert "Die Rechnungsnummer ist 4711." in _messages(runtime, world.kept.id)
    assert _messages(runtime, world.duplicate.id) == []


@pytest.mark.parametrize("second", ["same direction", "opposite direction"])
def test_two_agents_merging_at_once_merge_once_and_lose_no_message(runtime, postgres, second):
    world = duplicates(runtime)
    for ticket in (world.kept, world.duplicate):
        thread.add_note(runtime, accounting_agent(), ticket.number, f"Notiz zu {ticket.number}")
    messages = len(_messages(runtime, world.kept.id)) + len(_messages(runtime, world.duplicate.id))
    first_pair = (world.duplicate.number, world.kept.number)
    second_pair = first_pair if second == "same direction" else first_pair[::-1]
    ids = (world.kept.id, world.duplicate.id)

    with ThreadPoolExecutor(2) as pool, rows_held(postgres, *ids) as held:
        first = pool.submit(
            merging.merge, runtime, accounting_agent("a@support.example.com"), *first_pair
        )
        wait_until(held.queued(1), what="the first merge to wait")
        later = pool.submit(
            merging.merge, runtime, accounting_agent("b@support.example.com"), *second_pair
        )
        wait_until(held.queued(2), what="the second merge to wait")
        held.release()
        outcomes = (_outcome(first), _outcome(later))

    assert outcomes == ("merged", "refused")
    with runtime.db.session() as session:
        merged = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.merged_into_id.is_not(None))
        )
        kept = session.get_one(Ticket, world.kept.id)
    assert merged == 1
    assert (kept.merged_into_id, kept.status) == (None, "new")
    assert messages == 2
    assert len(_messages(runtime, world.kept.id)) == messages
