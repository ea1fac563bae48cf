"""Two complete sets of processes on one PostgreSQL and one Redis: nothing lost, nothing twice.

Each set is what a host runs: the web app on gunicorn, an RQ worker (with its scheduler and
the periodic jobs) and the mail-in LMTP server. Tickets are filed through both web servers
and both LMTP servers (one message delivered to both), a mandatory mailing is sent in small
batches that both workers take, and critical tickets page on-call. Afterwards every ticket
exists once, every acknowledgement and every mailing recipient got one mail, and each
critical ticket paged on-call once.

Runs only on PostgreSQL (TEST_DATABASE_URL): SQLite allows one writer at a time, and several
hosts never share a SQLite file.
"""

from __future__ import annotations

import base64
import json
import os
import smtplib
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications.mailings import services as mailing_services
from tests.integration.notifications.factories import make_account, make_mailing
from tests.integration.tickets.factories import customer_token
from tests.support import free_port, wait_until
from tickets.models import Ticket, TicketMessage

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several hosts share PostgreSQL, not a SQLite file: set TEST_DATABASE_URL",
)

BIN = Path(sys.executable).parent
API_TICKETS_PER_STACK = 8
CRITICAL_PER_STACK = 2
MAILS_PER_STACK = 4
MAILING_ACCOUNTS = 16
ONCALL = "oncall@support.example.com"
SUPPORT = "support@support.example.com"


class Stack:
    """One host's processes: web, worker, mail-in, logging into one file."""

    def __init__(self, name: str, cli_env: dict[str, str], tmp_path: Path, master_key: str):
        self.name = name
        self.web_port = free_port()
        self.lmtp_port = free_port()
        self.log = tmp_path / f"{name}.log"
        self.env = {
            **os.environ,
            **cli_env,
            "HELPDESK_VAR_DIR": str(tmp_path / name),
            "SENSITIVE_MASTER_KEY": master_key,
            "MAIL_IN_PORT": str(self.lmtp_port),
            "MAILING_BATCH_SIZE": "4",
            "ONCALL_EMAILS": ONCALL,
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        web = [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.web_port}",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "helpdesk.wsgi:app",
        ]
        with self.log.open("ab") as output:
            for command in (
                web,
                [str(BIN / "helpdesk"), "worker"],
                [str(BIN / "helpdesk"), "mail-in", "serve"],
            ):
                self.processes.append(
                    subprocess.Popen(command, env=self.env, stdout=output, stderr=output)
                )
        wait_until(self._serving, timeout=60, what=f"{self.name} serving HTTP and LMTP")

    def _serving(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/healthz", timeout=2)
        except urllib.error.HTTPError:
            pass  # answering (503 while a check is down) is serving
        except OSError:
            return False
        try:
            smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=2).quit()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)

    def file_ticket(self, token: str, n: int, priority: str) -> str:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}/api/v1/tickets",
            data=json.dumps(
                {
                    "reply_to": f"kunde-{self.name}-{n}@example.com",
                    "product_family": "JTL-Wawi",
                    "component": "JTL-Wawi",
                    "subject": f"Abgleich hängt ({self.name} {n})",
                    "text": "Seit dem Update hängt der Abgleich.",
                    "priority": priority,
                    "emergency_confirmed": priority == "critical",
                }
            ).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            return json.load(response)["number"]

    def deliver(self, message: EmailMessage) -> tuple[int, bytes]:
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30) as client:
            client.ehlo_or_helo_if_needed()
            client.mail(str(message["From"]))
            client.rcpt(SUPPORT)
            return client.data(bytes(message))


def mail(sender: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="kunde.example")
    message.set_content("Bitte um Rückruf wegen der Lizenz.")
    return message


def test_two_hosts_file_tickets_send_a_mailing_and_page_without_loss_or_duplicates(
    runtime, smtp_sink, cli_env, tmp_path
):
    token = customer_token(runtime)
    addresses = set()
    for n in range(MAILING_ACCOUNTS):
        first, critical = f"info@two{n}.example", f"it@two{n}.example"
        make_account(runtime, first_contact=first, critical=(critical,))
        addresses |= {first, critical}
    mailing_id = make_mailing(runtime)
    master_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    stacks = [Stack(name, cli_env, tmp_path, master_key) for name in ("a", "b")]
    numbers: list[str] = []
    replies: list[int] = []
    try:
        for stack in stacks:
            stack.start()

        def host_traffic(stack: Stack) -> None:
            for n in range(API_TICKETS_PER_STACK):
                numbers.append(
                    stack.file_ticket(token, n, "critical" if n < CRITICAL_PER_STACK else "normal")
                )
            for n in range(MAILS_PER_STACK):
                sender = f"person{n}@{stack.name}.kunde.example"
                replies.append(stack.deliver(mail(sender, f"Rückruf {stack.name} {n}"))[0])

        threads = [threading.Thread(target=host_traffic, args=(stack,)) for stack in stacks]
        for thread in threads:
            thread.start()
        twice = mail("zweimal@kunde.example", "Einmal an beide Server")
        same = [stack.deliver(twice) for stack in stacks]
        for thread in threads:
            thread.join(timeout=120)
        mailing_services.start_sending(runtime, mailing_id, "ops-b@example.com")

        api_tickets = 2 * API_TICKETS_PER_STACK
        pages = 2 * CRITICAL_PER_STACK
        expected = api_tickets + pages + len(addresses)
        wait_until(
            lambda: _mailing_done(runtime, mailing_id) and len(smtp_sink.received) >= expected,
            timeout=180,
            what="acknowledgements, pages and the mailing delivered",
        )
    finally:
        for stack in stacks:
            stack.stop()

    logs = "\n".join(stack.log.read_text(errors="replace")[-3000:] for stack in stacks)
    assert len(set(numbers)) == api_tickets, logs
    assert replies == [250] * (2 * MAILS_PER_STACK), logs
    assert sorted(code for code, _ in same) == [250, 250]
    assert sum(b"ignored" in text for _, text in same) == 1, same
    with runtime.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(Ticket))
        stored_numbers = {ticket.number for ticket in session.scalars(select(Ticket))}
        twice_kept = session.scalar(
            select(func.count())
            .select_from(TicketMessage)
            .where(TicketMessage.message_id == twice["Message-ID"])
        )
    assert stored == api_tickets + 2 * MAILS_PER_STACK + 1
    assert set(numbers) <= stored_numbers
    assert twice_kept == 1
    received = Counter(rcpt for mail in smtp_sink.received for rcpt in mail.rcpt_tos)
    assert all(received[address] == 1 for address in addresses), received
    for stack in stacks:
        for n in range(API_TICKETS_PER_STACK):
            assert received[f"kunde-{stack.name}-{n}@example.com"] == 1
    assert received[ONCALL] == pages, received


def _mailing_done(runtime, mailing_id: int) -> bool:
    return mailing_services.progress(runtime, mailing_id).finished
