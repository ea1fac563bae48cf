"""Acknowledgements and other outbox mail leave in batches: one job, one SMTP connection."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from email import message_from_bytes

from sqlalchemy import select

from helpdesk.runtime import Runtime
from notifications.outbox import batch
from notifications.outbox.models import OutboundMessage
from tests.integration.tickets.factories import make_ticket
from tests.support import free_port


def _states(runtime) -> Counter[str]:
    with runtime.db.session() as session:
        return Counter(session.scalars(select(OutboundMessage.state)))


def test_tickets_filed_while_a_drain_waits_share_its_job_and_its_connection(
    runtime, work, smtp_sink
):
    for _ in range(5):
        make_ticket(runtime)
    waiting = runtime.queue("mail").count

    work()

    assert waiting == 1, "the first commit woke a drain; the others found it waiting"
    assert len(smtp_sink.wait_for(5)) == 5
    assert smtp_sink.connections == 1
    assert _states(runtime) == {"sent": 5}


def test_a_lone_acknowledgement_is_sent_by_the_drain_its_ticket_woke(runtime, work, smtp_sink):
    make_ticket(runtime)
    work()
    make_ticket(runtime)  # the first drain has finished: this commit wakes a new one

    work()

    assert len(smtp_sink.wait_for(2)) == 2
    assert _states(runtime) == {"sent": 2}


def test_drains_running_at_once_send_every_message_exactly_once(runtime, smtp_sink):
    for _ in range(batch.BATCH + 30):
        make_ticket(runtime)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            batch.drain(runtime)
        except BaseException as error:  # shown by the assertion below
            errors.append(error)

    drains = [threading.Thread(target=run) for _ in range(3)]
    for thread in drains:
        thread.start()
    for thread in drains:
        thread.join(timeout=120)

    assert errors == []
    received = smtp_sink.wait_for(batch.BATCH + 30)
    ids = Counter(message_from_bytes(mail.data)["Message-ID"] for mail in received)
    assert len(ids) == batch.BATCH + 30
    assert set(ids.values()) == {1}
    assert _states(runtime) == {"sent": batch.BATCH + 30}


def test_an_smtp_server_that_cannot_be_reached_defers_the_batch_to_single_retries(
    runtime, settings, smtp_sink
):
    for _ in range(3):
        make_ticket(runtime)
    unreachable = Runtime(replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))

    result = batch.drain(unreachable)

    assert result.counts == {"deferred": 3}
    with runtime.db.session() as session:
        rows = session.scalars(select(OutboundMessage)).all()
    assert {row.state for row in rows} == {"deferred"}
    assert all(row.smtp_reply.startswith("cannot connect") for row in rows)
    scheduled = runtime.queue("mail").scheduled_job_registry.get_job_ids()
    assert sorted(scheduled) == sorted(f"outbound-{row.id}" for row in rows)
    assert smtp_sink.received == []
    unreachable.db.dispose()
