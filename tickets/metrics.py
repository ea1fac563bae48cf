"""The tickets' metrics: tickets filed, mail-in outcomes, SLA escalations, the quarantine."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric

from helpdesk import metrics
from helpdesk.runtime import Runtime
from tickets.inbound import quarantine

TICKETS_FILED = metrics.counter(
    "helpdesk_tickets_filed_total",
    "Tickets filed, by channel and routed queue",
    ["channel", "queue"],
)
MAIL_IN = metrics.counter(
    "helpdesk_mail_in_messages_total",
    "Incoming messages per mailbox delivery: created, appended, ignored, bounce, refused, "
    "quarantined (malformed, kept) or deferred (sender over its rate)",
    ["outcome"],
)
SLA_ESCALATIONS = metrics.counter(
    "helpdesk_sla_escalations_total",
    "SLA escalation steps that came due (warnings, breaches, on-call pages), told or not",
    ["kind", "step"],
)


def escalation_kind(step: str) -> str:
    """warning, breach or page, from a step name such as ``warn_first_response``."""
    if step.startswith("warn_"):
        return "warning"
    if step.startswith("breach_"):
        return "breach"
    return step


def gauges(runtime: Runtime) -> Iterable[Metric]:
    quarantined = metrics.gauge(
        "helpdesk_quarantined_messages", "Incoming messages kept in the quarantine folder"
    )
    quarantined.add_metric([], quarantine.count(runtime.settings))
    return [quarantined]
