"""Demo tickets for `helpdesk seed demo`."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.runtime import Runtime
from tickets.models import Ticket
from tickets.services import TicketDraft, file_ticket

DEMO_TICKETS = (
    TicketDraft(
        reply_to="info@mueller-handel.example",
        product_family="JTL-Kundenkonto",
        component="Fragen zu Firmendaten/Kundenkonto",
        subject="Zugang gesperrt",
        text="Unsere Wawi-Lizenz wird als gesperrt angezeigt. Bitte prüfen Sie die Sperrung.",
        priority="normal",
        channel="web",
    ),
    TicketDraft(
        reply_to="it@schmidt-versand.example",
        product_family="JTL-Shop",
        component="Shop-Hosting",
        subject="Shop ist offline",
        text="Seit 10 Uhr ist unser Onlineshop nicht mehr erreichbar (HTTP 503).",
        priority="critical",
        channel="web",
    ),
)


def seed_demo(runtime: Runtime, *, if_empty: bool) -> int:
    with runtime.db.session() as session:
        if if_empty and session.scalar(select(func.count()).select_from(Ticket)):
            return 0
    for draft in DEMO_TICKETS:
        file_ticket(runtime, draft, actor="seed")
    return len(DEMO_TICKETS)
