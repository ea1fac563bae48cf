"""Outbound mail's metrics: messages sent, SMTP replies, outbox and delivery records per state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from prometheus_client.core import Metric
from sqlalchemy import func, or_, select

from helpdesk import metrics
from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from notifications.mailings.models import DELIVERY_STATES, Mailing, MailingDelivery
from notifications.outbox.models import OUTBOUND_STATES, OutboundMessage

MESSAGES_SENT = metrics.counter(
    "helpdesk_messages_sent_total",
    "Messages the SMTP server accepted, per stream (outbox, mailing, test)",
    ["stream"],
)
SMTP_REPLIES = metrics.counter(
    "helpdesk_smtp_replies_total",
    "SMTP outcomes per message: 2xx, 4xx, 5xx, or connection (lost or refused)",
    ["stream", "class"],
)
RECENT_MAILINGS = timedelta(days=7)  # finished mailings keep their progress series this long


def gauges(runtime: Runtime) -> Iterable[Metric]:
    """Outbox and delivery records per state, the oldest waiting message, mailing progress."""
    outbox = metrics.gauge("helpdesk_outbox_messages", "Outbox messages per state", ["state"])
    oldest = metrics.gauge(
        "helpdesk_outbox_oldest_waiting_seconds",
        "Age of the oldest outbox message still queued or deferred (0 when none waits)",
    )
    records = metrics.gauge(
        "helpdesk_delivery_records", "Delivery records of mandatory mailings per state", ["state"]
    )
    progress = metrics.gauge(
        "helpdesk_mailing_delivery_records",
        "Delivery records per state of mailings sending, paused or finished in the last 7 days",
        ["mailing_id", "state"],
    )
    now = utcnow()
    with runtime.db.reading() as session:
        by_state = dict(
            session.execute(
                select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)
            ).all()
        )
        waiting_since = session.scalar(
            select(func.min(OutboundMessage.created_at)).where(
                OutboundMessage.state.in_(("queued", "deferred"))
            )
        )
        records_by_state = dict(
            session.execute(
                select(MailingDelivery.state, func.count()).group_by(MailingDelivery.state)
            ).all()
        )
        per_mailing = session.execute(
            select(MailingDelivery.mailing_id, MailingDelivery.state, func.count())
            .join(Mailing, Mailing.id == MailingDelivery.mailing_id)
            .where(
                or_(
                    Mailing.state.in_(("sending", "paused")),
                    Mailing.finished_at >= now - RECENT_MAILINGS,
                )
            )
            .group_by(MailingDelivery.mailing_id, MailingDelivery.state)
        ).all()
    for state in OUTBOUND_STATES:
        outbox.add_metric([state], by_state.get(state, 0))
    oldest.add_metric([], (now - waiting_since).total_seconds() if waiting_since else 0.0)
    for state in DELIVERY_STATES:
        records.add_metric([state], records_by_state.get(state, 0))
    for mailing_id, state, count in per_mailing:
        progress.add_metric([str(mailing_id), state], count)
    return [outbox, oldest, records, progress]
