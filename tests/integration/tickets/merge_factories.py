"""Two tickets of one account to merge, and the agent who merges them."""

from __future__ import annotations

import io
from dataclasses import dataclass

from accounts.models import Account
from helpdesk.runtime import Runtime
from tests.integration.accounts.factories import make_account
from tickets.access import Viewer
from tickets.models import Ticket
from tickets.services import SensitiveInput, TicketDraft, Upload, file_ticket

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


QUEUES = ("accounting", "customer-account")  # where "Zugang gesperrt" and other subjects go


def accounting_agent(email: str = "merger@support.example.com") -> Viewer:
    """An agent of both queues the factory's tickets land in, as the console derives it."""
    return Viewer(email, None, None, True, frozenset(QUEUES))


def file_for(
    runtime: Runtime,
    account: Account | None,
    subject: str,
    *,
    reply_to: str = "buchhaltung@kunde.example",
    secret: str | None = None,
    attachment: bool = False,
) -> Ticket:
    """A ticket of ``account`` filed through the service (one of ``QUEUES``)."""
    draft = TicketDraft(
        reply_to=reply_to,
        product_family="JTL-Kundenkonto",
        component="Fragen zu Firmendaten/Kundenkonto",
        subject=subject,
        text=f"{subject}: bitte helfen.",
        channel="web",
        account_id=account.id if account else None,
    )
    return file_ticket(
        runtime,
        draft,
        actor=reply_to,
        secret=SensitiveInput("Wawi-Login", secret) if secret else None,
        uploads=[Upload("rechnung.pdf", io.BytesIO(PDF), "application/pdf")] if attachment else (),
    )


@dataclass(frozen=True)
class Duplicates:
    account: Account
    kept: Ticket  # A: the ticket that stays
    duplicate: Ticket  # B: merged into A


def duplicates(runtime: Runtime, *, access_data: str | None = "admin / Geheim-B-42") -> Duplicates:
    account = make_account(runtime)
    kept = file_for(runtime, account, "Zugang gesperrt")
    duplicate = file_for(
        runtime,
        account,
        "Lizenz gesperrt",
        reply_to="chefin@kunde.example",
        secret=access_data,
        attachment=True,
    )
    return Duplicates(account, kept, duplicate)
