"""Postfix in the loop: it hands support mail to `helpdesk mail-in serve` over LMTP, relays the
service's mail to a sink, and returns its own bounce of an undeliverable recipient to the VERP
address, which marks the delivery record."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from helpdesk.config import Settings
from notifications.mailings import services as mailing_services
from notifications.mailings.models import MailingDelivery
from tests.corpus import load
from tests.integration.inbound.postfix import POSTFIX, PostfixInstance, start_postfix
from tests.integration.notifications.factories import make_account, make_mailing
from tests.support import SmtpSink, free_port, wait_until
from tickets.inbound.models import InboundBounce
from tickets.models import Ticket

pytestmark = pytest.mark.skipif(
    not Path(POSTFIX).exists(), reason="Debian's postfix is not installed (.ci/run installs it)"
)

HELPDESK = Path(sys.executable).parent / "helpdesk"
SUPPORT = "support@support.example.com"
ACCOUNTING = "buchhaltung@support.example.com"
NOWHERE = "nirgendwo.example"


@pytest.fixture
def lmtp_port() -> int:
    return free_port()


class RefusingMx:
    """The mail server of NOWHERE: it knows none of its users (550 5.1.1 at RCPT)."""

    async def handle_RCPT(self, server, session, envelope, address: str, options: list) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


@pytest.fixture
def refusing_mx() -> Iterator[int]:
    port = free_port()
    controller = Controller(RefusingMx(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def postfix(lmtp_port: int, smtp_sink: SmtpSink, refusing_mx: int) -> Iterator[PostfixInstance]:
    instance = start_postfix(
        lmtp_port=lmtp_port,
        relay_port=smtp_sink.port,
        mailboxes=(SUPPORT, ACCOUNTING),
        max_bytes=25 * 1024 * 1024,
        routes={NOWHERE: refusing_mx},
    )
    yield instance
    instance.stop()


@pytest.fixture
def settings(settings: Settings, postfix: PostfixInstance) -> Settings:
    """The service sends through Postfix; its mailboxes are the ones Postfix takes."""
    return replace(
        settings,
        smtp_url=f"smtp://127.0.0.1:{postfix.smtp_port}",
        support_mailboxes=(SUPPORT, ACCOUNTING),
    )


@pytest.fixture
def mail_in_serve(cli_env: dict[str, str], lmtp_port: int, tmp_path: Path) -> Iterator[None]:
    """`helpdesk mail-in serve` as a process, as production runs it."""
    log = (tmp_path / "mail-in.log").open("wb")
    environment = {**cli_env, "SUPPORT_MAILBOXES": f"{SUPPORT},{ACCOUNTING}"}
    server = subprocess.Popen(
        [HELPDESK, "mail-in", "serve", "--host", "127.0.0.1", "--port", str(lmtp_port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until(lambda: _accepts(lmtp_port), timeout=30, what="mail-in serve to listen")
    yield
    server.terminate()
    server.wait(timeout=20)
    log.close()


def wait_for(postfix: PostfixInstance, condition, what: str) -> None:
    """Wait for ``condition``; on time-out, fail with the end of Postfix's log."""
    try:
        wait_until(condition, timeout=30, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{postfix.log()[-4000:]}") from None


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _count(runtime, column) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count(column)))


def test_mail_through_postfix_becomes_a_ticket_whose_acknowledgement_leaves_through_postfix(
    postfix, mail_in_serve, runtime, work, smtp_sink
):
    with smtplib.SMTP("127.0.0.1", postfix.smtp_port, timeout=30) as client:
        client.sendmail(
            "j.mueller@mueller-handel.example", [SUPPORT], load("outlook_new_request_de.eml")
        )

    wait_for(postfix, lambda: _count(runtime, Ticket.id) == 1, "the ticket")
    work()
    [acknowledgement] = smtp_sink.wait_for(1, timeout=30)
    assert acknowledgement.rcpt_tos == ("j.mueller@mueller-handel.example",)
    assert b"[HD-000001]" in acknowledgement.data
    assert b"Received: from " in acknowledgement.data  # it passed through Postfix


def test_postfix_refuses_an_address_that_is_no_support_mailbox(postfix, mail_in_serve):
    with smtplib.SMTP("127.0.0.1", postfix.smtp_port, timeout=30) as client:
        client.ehlo()
        client.mail("kunde@kunde.example")
        code, text = client.rcpt("niemand@support.example.com")

    assert code == 550
    assert b"5.1.1" in text


def test_postfix_bounces_an_undeliverable_recipient_to_the_verp_address_and_marks_the_record(
    postfix, mail_in_serve, runtime, work, smtp_sink
):
    make_account(runtime, first_contact="info@gut.example")
    make_account(runtime, first_contact=f"weg@{NOWHERE}")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")

    work()

    [delivered] = smtp_sink.wait_for(1, timeout=30)
    assert delivered.rcpt_tos == ("info@gut.example",)
    assert delivered.mail_from.startswith("bounce-")
    wait_for(postfix, lambda: _count(runtime, InboundBounce.id) == 1, "the bounce")
    with runtime.db.session() as session:
        states = dict(session.execute(select(MailingDelivery.address, MailingDelivery.state)).all())
        bounce = session.scalars(select(InboundBounce)).one()
        bounced_id = session.scalar(
            select(MailingDelivery.id).where(MailingDelivery.address == f"weg@{NOWHERE}")
        )
    assert states == {"info@gut.example": "sent", f"weg@{NOWHERE}": "bounced"}
    assert (bounce.delivery_id, bounce.reader, bounce.status, bounce.severity) == (
        bounced_id,
        "dsn",
        "5.1.1",
        "hard",
    )
    assert bounce.mailbox.startswith(f"bounce-{bounced_id}-")
    assert bounce.recipient == f"weg@{NOWHERE}"
