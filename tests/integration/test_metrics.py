"""GET /metrics: token-protected, and its counters and gauges move with what the database holds."""

from __future__ import annotations

import dataclasses
import re
import smtplib
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from prometheus_client import Counter as PrometheusCounter
from prometheus_client import Histogram
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from accounts import metrics as accounts_metrics
from helpdesk import metrics as helpdesk_metrics
from helpdesk.app import create_app
from helpdesk.config import PROJECT_ROOT
from notifications import metrics as notifications_metrics
from notifications.mailings import services as mailing_services
from notifications.mailings.models import MailingDelivery
from notifications.outbox.models import OutboundMessage
from tests.conftest import METRICS_TOKEN
from tests.corpus import load
from tests.integration.accounts.factories import attempt_sign_in, make_account, make_customer
from tests.integration.notifications.factories import make_account as make_mailing_account
from tests.integration.notifications.factories import make_mailing
from tests.integration.sla.helpers import WAWI, steps
from tests.integration.tickets.factories import LOCKED_ACCESS, customer_token, make_ticket
from tests.support import free_port
from tickets import metrics as tickets_metrics
from tickets.inbound.lmtp import start_server
from tickets.models import Ticket
from tickets.sla.timers import reconcile

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def lmtp(runtime) -> Iterator[tuple[str, int]]:
    port = free_port()
    controller = start_server(runtime, "127.0.0.1", port)
    yield "127.0.0.1", port
    controller.stop()


def _mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"kunde{number}@mueller-handel.example"
    message["To"] = "support@support.example.com"
    message["Subject"] = f"Frage {number} zur Rücksendung"
    message["Message-ID"] = f"<frage-{number}@mueller-handel.example>"
    message.set_content("Die Rücksendung lässt sich nicht buchen.")
    return message.as_bytes()


def test_metrics_answer_only_to_the_configured_token(app, settings):
    client = app.test_client()

    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer falsch"}).status_code == 403
    unconfigured = create_app(dataclasses.replace(settings, metrics_token=""))
    try:
        response = unconfigured.test_client().get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    finally:
        unconfigured.extensions["runtime"].db.dispose()
    assert response.status_code == 404


def test_counters_and_gauges_follow_an_intake_burst_and_a_mailing(
    client, runtime, work, smtp_sink, lmtp
):
    before = scrape(client)
    headers = {"Authorization": f"Bearer {customer_token(runtime)}"}
    for _ in range(5):
        assert (
            client.post("/api/v1/tickets", json=LOCKED_ACCESS, headers=headers).status_code == 201
        )
    with smtplib.LMTP(*lmtp) as connection:
        for number in range(4):
            connection.sendmail("kunde@example.com", ["support@support.example.com"], _mail(number))
        with pytest.raises(smtplib.SMTPDataError):
            connection.sendmail(
                "kunde@example.com", ["support@support.example.com"], load("malformed_no_from.eml")
            )
    for number in range(3):
        make_mailing_account(runtime, first_contact=f"info@firma{number}.example")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")

    during = scrape(client)

    with runtime.db.reading() as session:
        filed = Counter(session.execute(select(Ticket.channel, Ticket.queue)).all())
        outbox = dict(
            session.execute(
                select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)
            ).all()
        )
        records = session.scalar(select(func.count()).select_from(MailingDelivery))
    assert sum(filed.values()) == 9
    for (channel, queue), count in filed.items():
        assert (
            moved(before, during, "helpdesk_tickets_filed_total", channel=channel, queue=queue)
            == count
        )
    assert moved(before, during, "helpdesk_mail_in_messages_total", outcome="created") == 4
    assert moved(before, during, "helpdesk_mail_in_messages_total", outcome="quarantined") == 1
    assert value(during, "helpdesk_quarantined_messages") == 1
    assert value(during, "helpdesk_outbox_messages", state="queued") == outbox["queued"] == 9
    assert value(during, "helpdesk_delivery_records", state="queued") == records == 3
    assert (
        value(
            during, "helpdesk_mailing_delivery_records", mailing_id=str(mailing_id), state="queued"
        )
        == 3
    )
    assert value(during, "helpdesk_rq_queue_jobs", queue="mail") > 0
    assert (
        moved(
            before,
            during,
            "helpdesk_http_request_duration_seconds_count",
            group="tickets_api",
            method="POST",
            status="201",
        )
        == 5
    )

    work()
    after = scrape(client)

    assert value(after, "helpdesk_outbox_messages", state="sent") == 9
    assert value(after, "helpdesk_outbox_messages", state="queued") == 0
    assert value(after, "helpdesk_delivery_records", state="sent") == 3
    assert (
        value(after, "helpdesk_mailing_delivery_records", mailing_id=str(mailing_id), state="sent")
        == 3
    )
    assert moved(during, after, "helpdesk_messages_sent_total", stream="outbox") == 9
    assert moved(during, after, "helpdesk_messages_sent_total", stream="mailing") == 3
    assert (
        moved(during, after, "helpdesk_smtp_replies_total", stream="mailing", **{"class": "2xx"})
        == 3
    )
    assert value(after, "helpdesk_rq_queue_jobs", queue="mail") == 0
    assert len(smtp_sink.wait_for(12)) == 12


def test_every_metric_the_alert_rules_and_the_dashboard_use_exists(client):
    deploy = PROJECT_ROOT / "deploy"
    used = set(
        re.findall(
            r"helpdesk_[a-z_]+",
            (deploy / "prometheus" / "helpdesk-alerts.yml").read_text()
            + (deploy / "grafana" / "helpdesk-dashboard.json").read_text(),
        )
    )
    declared = {
        f"{metric._name}_total" if isinstance(metric, PrometheusCounter) else metric._name
        for module in (helpdesk_metrics, tickets_metrics, notifications_metrics, accounts_metrics)
        for metric in vars(module).values()
        if isinstance(metric, PrometheusCounter | Histogram)
    }
    exposition = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    gauges = {
        family.name
        for family in text_string_to_metric_families(exposition.get_data(as_text=True))
        if family.type == "gauge"
    }
    histogram_series = {
        f"{name}{suffix}" for name in declared for suffix in ("_bucket", "_count", "_sum")
    }

    assert len(used) > 10
    assert used - declared - gauges - histogram_series == set()
    assert {"helpdesk_quarantined_messages", "helpdesk_outbox_messages"} <= gauges


def test_sla_steps_and_sign_in_lockouts_are_counted_as_they_happen(app, client, runtime):
    before = scrape(client)
    ticket_id = make_ticket(runtime, **WAWI)
    breach = next(s for s in steps(runtime, ticket_id) if s.step == "breach_first_response")
    reconcile(runtime, breach.fire_at)  # the worker catches up on every step due by then
    person = make_customer(runtime, make_account(runtime))
    for _ in range(10):  # the tenth failure reaches the limit per address
        attempt_sign_in(app.test_client(), person.email, password="falsch-falsch-falsch")

    after = scrape(client)

    fired = Counter(s.step for s in steps(runtime, ticket_id) if s.fired_at is not None)
    assert fired["breach_first_response"] == 1
    for step, count in fired.items():
        kind = tickets_metrics.escalation_kind(step)
        assert moved(before, after, "helpdesk_sla_escalations_total", kind=kind, step=step) == count
    assert moved(before, after, "helpdesk_signin_failures_total", step="password") == 10
    assert moved(before, after, "helpdesk_signin_lockouts_total", scope="email") == 1
    assert moved(before, after, "helpdesk_signin_lockouts_total", scope="ip") == 0
