"""Textbausteine: reusable texts per queue, kept by supervisors, filled in for one ticket.

Placeholders are written ``{kunde}``; only the names in ``PLACEHOLDERS`` exist, and a text
naming another is refused when it is saved, so an agent never sends a stray brace.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.models import ContactPerson
from helpdesk.runtime import Runtime
from tickets.models import TextModule, Ticket
from tickets.services import TEXT_MAX, ValidationError
from tickets.sla.labels import format_berlin

TITLE_MAX = 120
PLACEHOLDERS = {
    "kunde": "Firma des Kunden",
    "kundennummer": "Kundennummer",
    "ansprechpartner": "Name der Kontaktperson (sonst die Antwortadresse)",
    "ticketnummer": "Ticketnummer",
    "faellig": "nächste Fälligkeit (SLA)",
}
_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")


class TextModuleNotFound(Exception):
    """No text module with this id."""


def text_modules(runtime: Runtime, queue: str | None = None) -> list[TextModule]:
    """The modules of ``queue`` (all queues when None), by queue and title."""
    statement = select(TextModule).order_by(TextModule.queue, TextModule.title)
    if queue is not None:
        statement = statement.where(TextModule.queue == queue)
    with runtime.db.reading() as session:
        return list(session.scalars(statement))


def text_module(runtime: Runtime, module_id: int) -> TextModule:
    with runtime.db.reading() as session:
        module = session.get(TextModule, module_id)
    if module is None:
        raise TextModuleNotFound(module_id)
    return module


def save(
    runtime: Runtime,
    *,
    module_id: int | None,
    queue: str,
    title: str,
    body: str,
    actor: str,
    known_queues: Collection[str],
) -> TextModule:
    """Create (``module_id`` None) or change a module; the title is unique within its queue."""
    title, body = title.strip(), body.strip()
    errors: dict[str, str] = {}
    if queue not in known_queues:
        errors["queue"] = "Unbekannte Queue."
    if not title:
        errors["title"] = "Bitte geben Sie einen Titel an."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Höchstens {TITLE_MAX} Zeichen."
    if not body:
        errors["body"] = "Bitte geben Sie einen Text ein."
    elif len(body) > TEXT_MAX:
        errors["body"] = f"Höchstens {TEXT_MAX} Zeichen."
    unknown = sorted({name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        errors["body"] = f"Unbekannte Platzhalter: {names}."
    if errors:
        raise ValidationError(errors)
    try:
        with runtime.db.session() as session:
            module = TextModule() if module_id is None else session.get(TextModule, module_id)
            if module is None:
                raise TextModuleNotFound(module_id)
            module.queue, module.title, module.body, module.updated_by = queue, title, body, actor
            session.add(module)
        return module
    except IntegrityError:
        raise ValidationError(
            {"title": "In dieser Queue gibt es schon einen Textbaustein mit diesem Titel."}
        ) from None


def delete(runtime: Runtime, module_id: int) -> None:
    with runtime.db.session() as session:
        module = session.get(TextModule, module_id)
        if module is None:
            raise TextModuleNotFound(module_id)
        session.delete(module)


def fill(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each known placeholder replaced; anything else stays as written."""
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), body)


def for_ticket(
    session: Session, ticket: Ticket, company: str | None, customer_number: str | None
) -> list[tuple[TextModule, str]]:
    """The modules of the ticket's queue, each with its text filled in for this ticket."""
    modules = session.scalars(
        select(TextModule).where(TextModule.queue == ticket.queue).order_by(TextModule.title)
    ).all()
    if not modules:
        return []
    contact = None
    if ticket.account_id is not None:
        contact = session.execute(
            select(ContactPerson.first_name, ContactPerson.last_name)
            .where(
                ContactPerson.account_id == ticket.account_id,
                func.lower(ContactPerson.email) == ticket.reply_to.lower(),
            )
            .limit(1)
        ).first()
    values = {
        "kunde": company or "",
        "kundennummer": customer_number or "",
        "ansprechpartner": " ".join(filter(None, contact)) if contact else ticket.reply_to,
        "ticketnummer": ticket.number,
        "faellig": format_berlin(ticket.sla_next_due_at) if ticket.sla_next_due_at else "",
    }
    return [(module, fill(module.body, values)) for module in modules]
