"""Which ticket a reply belongs to, and which mandatory mailing a customer answers.

Headers first: In-Reply-To and References name a message we sent (an acknowledgement, an
agent's reply) or one the customer sent before; these survive any edit of the subject.
Then the ticket number in the subject (``[HD-000042]``), which survives clients that drop
the headers. A reference to a mandatory mailing's message links the new ticket to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Result, select, union_all
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from notifications.mailings import bounces
from notifications.mailings.models import Mailing
from notifications.outbox.models import OutboundMessage
from tickets.inbound.parsing import ParsedMail
from tickets.models import Ticket, TicketMessage, parse_number

TICKET_NUMBER = re.compile(r"(?<![\w-])HD-([0-9]{6,9})(?![0-9])", re.IGNORECASE)
MAILING_ANCHOR = re.compile(r"<mailing\.([0-9]{1,18})@[^>\s]+>")


@dataclass(frozen=True)
class ThreadMatch:
    ticket_id: int
    via: str  # "in-reply-to", "references" or "subject"


def ticket_number_in(subject: str) -> int | None:
    """The ticket id of the first ticket number in ``subject`` (any prefix like AW:/WG:)."""
    found = TICKET_NUMBER.search(subject)
    return parse_number(f"HD-{found.group(1)}") if found else None


def referenced_ids(mail: ParsedMail) -> list[str]:
    """In-Reply-To first, then References from the newest to the oldest, without repeats."""
    ordered = ([mail.in_reply_to] if mail.in_reply_to else []) + list(reversed(mail.references))
    return list(dict.fromkeys(ordered))


def find_ticket(session: Session, mail: ParsedMail) -> ThreadMatch | None:
    """The ticket ``mail`` answers, or None: it is new."""
    ids = referenced_ids(mail)
    if ids:
        sent = select(OutboundMessage.message_id, OutboundMessage.ticket_id).where(
            OutboundMessage.message_id.in_(ids), OutboundMessage.ticket_id.is_not(None)
        )
        received = select(TicketMessage.message_id, TicketMessage.ticket_id).where(
            TicketMessage.message_id.in_(ids)
        )
        found: Result[str, int] = session.execute(union_all(sent, received))
        known = {message_id: ticket_id for message_id, ticket_id in found}
        for position, message_id in enumerate(ids):
            if message_id in known:
                via = "in-reply-to" if position == 0 and mail.in_reply_to else "references"
                return ThreadMatch(known[message_id], via)
    number = ticket_number_in(mail.subject)
    if number is not None and session.get(Ticket, number) is not None:
        return ThreadMatch(number, "subject")
    return None


def find_mailing(session: Session, settings: Settings, mail: ParsedMail) -> int | None:
    """The mandatory mailing ``mail`` answers (by its Message-ID in the headers), or None."""
    candidates: list[int] = []
    for message_id in referenced_ids(mail):
        ids = bounces.parse_message_id(message_id)
        if ids is not None and message_id.lower().endswith(f"@{settings.mail_domain.lower()}>"):
            candidates.append(ids[0])
            continue
        anchor = MAILING_ANCHOR.fullmatch(message_id)
        if anchor and message_id.lower().endswith(f"@{settings.mail_domain.lower()}>"):
            candidates.append(int(anchor.group(1)))
    if not candidates:
        return None
    existing = set(session.scalars(select(Mailing.id).where(Mailing.id.in_(candidates))))
    return next((mailing_id for mailing_id in candidates if mailing_id in existing), None)
