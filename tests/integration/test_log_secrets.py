"""No log line, text or JSON, of the main flows holds a password, token, reset link, session
cookie or sensitive data in plain text."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from helpdesk import logs
from notifications.mailings import services as mailing_services
from tests.conftest import METRICS_TOKEN, SECRET
from tests.integration.accounts.factories import (
    PASSWORD,
    attempt_sign_in,
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.notifications.factories import make_account as make_mailing_account
from tests.integration.notifications.factories import make_mailing
from tests.integration.tickets.factories import LOCKED_ACCESS, customer_token

WRONG_PASSWORD = "Falsch-Geratenes-Passwort-3"
NEW_PASSWORD = "Ganz-neues-Passwort-7"
SENSITIVE = "Streng-Geheim-4711"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every line of the test, at DEBUG, as production writes it (JSON) and as `make run` does."""
    buffer = io.StringIO()
    handlers = [logs.handler("json", "web", buffer), logs.handler("text", "web", buffer)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    yield buffer
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def _reset_link(smtp_sink) -> str:
    mail = smtp_sink.wait_for(1)[-1]
    text = message_from_bytes(mail.data, policy=policy.SMTP).get_body(("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:8000(/anmelden/passwort-neu/\S+)", text).group(1)


def test_main_flows_log_no_secret(app, runtime, work, smtp_sink, log_lines):
    customer = make_customer(runtime, make_account(runtime))
    portal = app.test_client()
    attempt_sign_in(portal, customer.email, WRONG_PASSWORD)
    sign_in(portal, customer.email)
    session_cookie = portal.get_cookie("helpdesk_session").value
    form = {
        "csrf_token": csrf_token(portal, "/tickets/neu"),
        **LOCKED_ACCESS,
        "department": "",
        "sensitive_label": "FTP-Zugang",
        "sensitive_value": f"shop / {SENSITIVE}",
    }
    filed = portal.post("/tickets/neu", data=form, content_type="multipart/form-data")
    number = re.search(r"HD-\d{6}", filed.headers["Location"]).group(0)
    agent = make_staff(runtime, "agent", queues=("accounting",))
    console = app.test_client()
    sign_in(console, agent.email)
    path = f"/konsole/tickets/{number}"
    shown = console.post(f"{path}/sensible-daten", data={"csrf_token": csrf_token(console, path)})
    api_token = customer_token(runtime)
    api = app.test_client()
    api.post(
        "/api/v1/tickets", json=LOCKED_ACCESS, headers={"Authorization": f"Bearer {api_token}"}
    )
    make_mailing_account(runtime, first_contact="info@firma.example")
    mailing_services.start_sending(runtime, make_mailing(runtime), "ops-a@example.com")
    work()
    smtp_sink.reset()
    anonymous = app.test_client()
    anonymous.post(
        "/anmelden/passwort-vergessen",
        data={
            "csrf_token": csrf_token(anonymous, "/anmelden/passwort-vergessen"),
            "email": customer.email,
        },
    )
    work("mail")
    link = _reset_link(smtp_sink)
    anonymous.post(
        link,
        data={
            "csrf_token": csrf_token(anonymous, link),
            "password": NEW_PASSWORD,
            "password_repeat": NEW_PASSWORD,
        },
    )
    app.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    lines = log_lines.getvalue().splitlines()
    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "new password": NEW_PASSWORD,
        "session cookie": session_cookie,
        "API token": api_token,
        "reset link": link.rsplit("/", 1)[-1],
        "sensitive data": SENSITIVE,
        "metrics token": METRICS_TOKEN,
        "secret key": SECRET,
        "master key": runtime.settings.sensitive_master_key,
    }
    assert SENSITIVE in shown.get_data(as_text=True)  # the flows ran: the one view showed it
    leaked = {name for name, value in secrets.items() for line in lines if value in line}
    assert leaked == set()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    routes = {record["message"].split(" ")[1] for record in records if record.get("request_id")}
    assert "/anmelden/passwort-neu/<token>" in routes
    assert any(record.get("ticket") == number for record in records)
    jobs = {record.get("job") for record in records if record.get("job_id")}
    assert {"workers.jobs.drain_outbox", "workers.jobs.send_mailing_batch"} <= jobs
    assert len(lines) > 50
