"""Failed work, for ops: a failed job, a failed mail and quarantined mail are seen, retried or
discarded on the page and in the CLI, and each action is audited."""

from __future__ import annotations

import dataclasses
import json
from email.message import EmailMessage

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from accounts.models import AuditEntry
from helpdesk import broker
from helpdesk.cli import main
from helpdesk.dkimkeys import load_keys
from notifications.mailings import services as mailing_services
from notifications.mailings.models import MailingDelivery
from notifications.outbox.models import OutboundMessage
from tests.corpus import load
from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.notifications.factories import make_account, make_mailing
from tests.integration.tickets.factories import make_ticket
from tickets.inbound import quarantine
from tickets.models import Ticket

PAGE = "/ops/fehlgeschlagen"


@pytest.fixture
def settings(settings, tmp_path):
    """DKIM keys of this test only: a test breaks them."""
    return dataclasses.replace(settings, dkim_key_dir=tmp_path / "dkim")


@pytest.fixture
def ops(app, runtime):
    person = make_staff(runtime, "ops")
    client = app.test_client()
    sign_in(client, person.email)
    return client, person.email


def _press(client, button: str, item: str):
    return client.post(
        f"{PAGE}/{button}", data={"csrf_token": csrf_token(client, PAGE), "item": item}
    )


def _section(page: str, kind: str) -> str:
    return page.split(f'id="{kind}">', 1)[1].split("</section>", 1)[0]


def _audit(runtime) -> list[tuple[str, str, str]]:
    with runtime.db.reading() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.account_id.is_(None)))
        return [(entry.actor, entry.action, entry.after["item"]) for entry in entries]


def _mail(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "j.mueller@mueller-handel.example"
    message["To"] = "support@support.example.com"
    message["Subject"] = subject
    message["Message-ID"] = "<rueckfrage-1@mueller-handel.example>"
    message.set_content("Die Rücksendung lässt sich nicht buchen.")
    return message.as_bytes()


def test_a_failed_job_shows_on_the_page_and_succeeds_when_retried(ops, runtime, work, smtp_sink):
    client, email = ops
    load_keys(runtime.settings)
    rsa_key = runtime.settings.dkim_key_dir / f"{runtime.settings.dkim_rsa_selector}.rsa.pem"
    good_key = rsa_key.read_bytes()
    rsa_key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nkaputt\n-----END PRIVATE KEY-----\n")
    make_account(runtime, first_contact="info@eins.example")
    make_account(runtime, first_contact="info@zwei.example")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    [failed] = broker.failed_jobs(runtime.redis)

    page = client.get(PAGE).get_data(as_text=True)

    assert f"job:{failed.id}" in _section(page, "job")
    assert f"workers.jobs.send_mailing_batch({mailing_id}" in page
    assert "ValueError" in failed.error and failed.error in page
    rsa_key.write_bytes(good_key)  # the fix
    assert _press(client, "erneut", f"job:{failed.id}").status_code == 302
    work()
    assert broker.failed_jobs(runtime.redis) == []
    assert len(smtp_sink.wait_for(2)) == 2
    with runtime.db.reading() as session:
        assert set(session.scalars(select(MailingDelivery.state))) == {"sent"}
    assert f"job:{failed.id}" not in _section(client.get(PAGE).get_data(as_text=True), "job")
    assert _audit(runtime) == [(email, "failed_work.retried", f"job:{failed.id}")]


def test_released_quarantined_mail_becomes_a_ticket_as_if_it_had_just_arrived(
    ops, runtime, work, smtp_sink
):
    client, email = ops
    # Kept by an earlier version that could not read it; the fix is in the code now.
    name = quarantine.keep(
        runtime.settings,
        _mail("Rücksendung in JTL-Wawi"),
        "malformed: cannot read the body",
        mailbox="support@support.example.com",
    )
    assert f"quarantine:{name}" in _section(client.get(PAGE).get_data(as_text=True), "quarantine")

    _press(client, "erneut", f"quarantine:{name}")
    work()

    with runtime.db.reading() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert (ticket.channel, ticket.subject) == ("email", "Rücksendung in JTL-Wawi")
    [acknowledgement] = smtp_sink.wait_for(1)
    assert acknowledgement.rcpt_tos == ("j.mueller@mueller-handel.example",)
    assert quarantine.entries(runtime.settings) == []
    assert _audit(runtime) == [(email, "failed_work.retried", f"quarantine:{name}")]


def test_mail_still_refused_stays_in_quarantine_once_with_the_reason(ops, runtime):
    client, _email = ops
    name = quarantine.keep(runtime.settings, load("malformed_no_from.eml"), "malformed: old")

    response = _press(client, "erneut", f"quarantine:{name}")

    [(kept, record)] = quarantine.entries(runtime.settings)
    assert record["reason"] != "malformed: old" and record["reason"].startswith("malformed")
    assert "wieder abgewiesen" in client.get(response.headers["Location"]).get_data(as_text=True)
    with runtime.db.reading() as session:
        assert session.scalars(select(Ticket)).all() == []
    assert kept != name


def test_cli_lists_a_failed_mail_and_discards_it_for_good(runtime, work, smtp_sink, cli_env):
    make_ticket(runtime)
    smtp_sink.replies.append("550 5.1.1 mailbox unavailable")
    work()
    with runtime.db.reading() as session:
        outbound = session.scalars(select(OutboundMessage)).one()
    runner = CliRunner()

    listed = runner.invoke(main, ["failed", "list", "--json"], env=cli_env)
    discarded = runner.invoke(
        main, ["failed", "discard", f"outbox:{outbound.id}", "--as", "olga"], env=cli_env
    )
    again = runner.invoke(main, ["failed", "retry", f"outbox:{outbound.id}"], env=cli_env)

    [item] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["key"], item["state"]) == (f"outbox:{outbound.id}", "failed")
    assert item["reason"].startswith("550 5.1.1")
    assert discarded.exit_code == 0, discarded.output
    assert again.exit_code == 1 and "nichts zu wiederholen" in again.output
    with runtime.db.reading() as session:
        assert session.get(OutboundMessage, outbound.id).state == "discarded"
    assert _audit(runtime) == [("olga", "failed_work.discarded", f"outbox:{outbound.id}")]
    assert runner.invoke(main, ["failed", "list"], env=cli_env).stdout == ""


def test_only_ops_see_the_page(app, runtime):
    agent = make_staff(runtime, "agent", queues=("support",))
    client = app.test_client()
    sign_in(client, agent.email)

    assert client.get(PAGE).status_code == 403
