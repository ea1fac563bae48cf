"""The MIME message of one delivery record, built the same way for sending and for the history.

Everything in it comes from stored data: the mailing's frozen skeleton, the record's
personalisation snapshot, its id (Message-ID) and the Date it went out with. A follow-up
threads per recipient: In-Reply-To and References name the messages this same address of this
same account received from the earlier mailings of the matter (or, where it received none, the
earlier mailing's anchor id).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from notifications import bounces, composing, messages
from notifications.mailings import Mailing, MailingDelivery

SENDER_NAME = "Kundencenter – Wichtiger Hinweis"
MAX_THREAD_DEPTH = 20

Recipient = tuple[int, str]  # (account id, address)


class AttachmentRefused(Exception):
    """A mandatory mailing never carries an attachment; a message with one is not sent."""


@dataclass(frozen=True)
class Thread:
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def ancestors(session: Session, mailing: Mailing) -> list[int]:
    """Ids of the mailings this one follows up, the original first."""
    chain: list[int] = []
    parent_id = mailing.follows_id
    while parent_id is not None and len(chain) < MAX_THREAD_DEPTH:
        chain.append(parent_id)
        parent_id = session.scalar(select(Mailing.follows_id).where(Mailing.id == parent_id))
    return list(reversed(chain))


def threads(
    session: Session, settings: Settings, mailing: Mailing, recipients: Iterable[Recipient]
) -> dict[Recipient, Thread]:
    """The thread headers for each recipient, in one query for all of them."""
    chain = ancestors(session, mailing)
    wanted = set(recipients)
    if not chain or not wanted:
        return {}
    rows = session.execute(
        select(
            MailingDelivery.mailing_id,
            MailingDelivery.account_id,
            MailingDelivery.address,
            MailingDelivery.id,
        ).where(
            MailingDelivery.mailing_id.in_(chain),
            MailingDelivery.account_id.in_({account for account, _ in wanted}),
        )
    ).all()
    received = {(row[0], row[1], row[2]): row[3] for row in rows}
    result = {}
    for account_id, address in wanted:
        references = tuple(
            bounces.message_id(settings, ancestor, delivery_id)
            if (delivery_id := received.get((ancestor, account_id, address))) is not None
            else bounces.thread_anchor(settings, ancestor)
            for ancestor in chain
        )
        result[(account_id, address)] = Thread(references[-1], references)
    return result


class MessageFactory:
    """Builds a mailing's messages; accounts' personalised parts are rendered once each."""

    def __init__(self, settings: Settings, mailing: Mailing) -> None:
        self.settings = settings
        self.mailing = mailing
        self._account: tuple[str, str] | None = None
        self._parts: composing.Personalised | None = None

    def build(
        self,
        *,
        delivery_id: int,
        address: str,
        company: str,
        customer_number: str,
        date: datetime,
        thread: Thread | None = None,
    ) -> EmailMessage:
        if self._account != (company, customer_number) or self._parts is None:
            self._parts = composing.personalise(self.mailing, company, customer_number)
            self._account = (company, customer_number)
        thread = thread or Thread()
        message = messages.build_message(
            sender=Address(SENDER_NAME, addr_spec=self.settings.mail_from),
            recipient=address,
            subject=self._parts.subject,
            text=self._parts.text,
            html=self._parts.html,
            message_id=bounces.message_id(self.settings, self.mailing.id, delivery_id),
            in_reply_to=thread.in_reply_to,
            references=thread.references,
        )
        message.replace_header("Date", format_datetime(date))
        if messages.has_attachment(message):
            raise AttachmentRefused(f"mailing {self.mailing.id}: message has an attachment part")
        return message
