"""A mail that cannot be built fails for good, with its reason shown to staff; nothing hangs."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from notifications.mailings import services as mailing_services
from notifications.mailings.models import Mailing, MailingDelivery
from notifications.outbox.models import OutboundMessage
from notifications.outbox.services import MAX_CLAIMS, enqueue_delivery
from tests.integration.accounts.factories import csrf_token, make_staff, sign_in, token_for
from tests.integration.notifications.factories import draft, make_account, make_mailing
from tests.integration.tickets.factories import make_ticket
from tickets.models import Ticket, TicketEvent, format_number
from workers import jobs


def _legacy(runtime, model, row_id: int, **values) -> None:
    """Data stored before the doors refused these characters (or by a path that forgot to)."""
    with runtime.db.session() as session:
        session.execute(update(model).where(model.id == row_id).values(**values))


def test_an_answer_to_a_ticket_whose_subject_no_header_can_hold_fails_visibly(
    app, runtime, work, smtp_sink
):
    ticket_id = make_ticket(runtime)
    work()
    smtp_sink.wait_for(1)
    _legacy(runtime, Ticket, ticket_id, subject="Zugang\x85gesperrt")
    agent = app.test_client()
    sign_in(agent, make_staff(runtime, "agent", queues=("accounting",)).email)
    page = f"/konsole/tickets/{format_number(ticket_id)}"

    response = agent.post(
        f"{page}/antwort", data={"csrf_token": csrf_token(agent, page), "text": "Erledigt."}
    )
    work()

    assert response.status_code == 302
    with runtime.db.session() as session:
        reply = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
    assert (reply.state, reply.smtp_reply.startswith("not built: Subject")) == ("failed", True)
    assert len(smtp_sink.received) == 1  # the acknowledgement, nothing more
    assert "not built: Subject" in agent.get(page).get_data(as_text=True)


def test_an_outbox_row_whose_text_cannot_be_built_fails_in_the_worker_once(
    runtime, work, smtp_sink
):
    ticket_id = make_ticket(runtime)
    work()
    smtp_sink.wait_for(1)
    with runtime.db.session() as session:
        row = session.scalars(select(OutboundMessage)).one()
    _legacy(
        runtime, OutboundMessage, row.id, state="queued", context={**row.context, "subject": "\x1b"}
    )

    enqueue_delivery(runtime, [row.id])
    work()
    enqueue_delivery(runtime, [row.id])  # the periodic sweep or a retry finds it finished
    work()

    with runtime.db.session() as session:
        failed = session.get(OutboundMessage, row.id)
        events = session.scalars(
            select(TicketEvent.reason).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "mail_failed"
            )
        ).all()
    assert failed.state == "failed"
    assert failed.smtp_reply.startswith("not built: ")
    assert events == [failed.smtp_reply]
    assert len(smtp_sink.received) == 1


def test_a_mailing_whose_subject_cannot_be_built_fails_each_record_and_finishes(
    app, runtime, work, smtp_sink
):
    make_account(runtime, first_contact="info@mueller.example", critical=("chef@mueller.example",))
    mailing_id = make_mailing(runtime)
    _legacy(runtime, Mailing, mailing_id, subject="Wartung\u2028heute")

    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()

    with runtime.db.session() as session:
        records = session.scalars(
            select(MailingDelivery).where(MailingDelivery.mailing_id == mailing_id)
        ).all()
    assert [r.state for r in records] == ["failed", "failed"]
    assert all(r.smtp_reply.startswith("not built: Subject") for r in records)
    assert smtp_sink.received == []
    assert mailing_services.progress(runtime, mailing_id).open == 0
    ops = app.test_client()
    sign_in(ops, make_staff(runtime, "ops").email)
    shown = ops.get(f"/ops/mailings/{mailing_id}/empfaenger").get_data(as_text=True)
    assert "not built: Subject" in shown


@pytest.mark.parametrize("subject", ["Wartung\x85heute", "Wartung\u2028heute", "Wartung\ud800"])
def test_a_mailing_subject_no_header_can_hold_is_refused_at_the_api(app, runtime, subject):
    headers = {"Authorization": f"Bearer {token_for(runtime, make_staff(runtime, 'ops'), 'ops')}"}
    body = {**draft().__dict__, "subject": subject, "audience": {"kind": "all"}}
    del body["audience_kind"], body["audience_values"], body["follows_id"]

    response = app.test_client().post("/api/v1/mailings", json=body, headers=headers)

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"subject"}


def test_a_row_whose_worker_died_at_every_claim_is_given_up_by_the_sweep(runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime)
    with runtime.db.session() as session:
        row = session.scalars(select(OutboundMessage)).one()
    stale = row.updated_at.replace(year=2000)
    _legacy(
        runtime, OutboundMessage, row.id, state="sending", attempts=MAX_CLAIMS, updated_at=stale
    )
    runtime.redis.flushdb()  # its delivery job is gone with the dead worker

    runtime.queue("default").enqueue(jobs.sweep_outbox)
    work()

    with runtime.db.session() as session:
        given_up = session.get(OutboundMessage, row.id)
        events = session.scalars(
            select(TicketEvent.reason).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "mail_failed"
            )
        ).all()
    assert (given_up.state, given_up.smtp_reply.startswith("given up")) == ("failed", True)
    assert events == [given_up.smtp_reply]
    assert smtp_sink.received == []
