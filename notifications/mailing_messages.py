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
from email.policy import SMTP, Policy
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from notifications import bounces, composing, messages
from notifications.mailings import Mailing, MailingDelivery

SENDER_NAME = "Kundencenter – Wichtiger Hinweis"
MAX_THREAD_DEPTH = 20
VARYING_HEADERS = {"to": "To", "date": "Date", "message-id": "Message-ID"}

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
    """Builds a mailing's messages as bytes, ready to sign.

    Rendering and MIME encoding are the expensive part and the same for every address of an
    account, so an account's message is built once with ``EmailMessage`` (SMTP policy) and
    serialised; each further recipient gets only the headers that name it (To, Date,
    Message-ID, In-Reply-To, References), each folded and encoded by the same policy's
    ``fold_binary``, in place of the account message's own.
    """

    def __init__(self, settings: Settings, mailing: Mailing) -> None:
        self.settings = settings
        self.mailing = mailing
        self._key: tuple[str, str, bool] | None = None
        self._policy: Policy = SMTP
        self._fields: list[tuple[str, bytes]] = []  # (lower-case name, folded field)
        self._body = b""

    def build(
        self,
        *,
        delivery_id: int,
        address: str,
        company: str,
        customer_number: str,
        date: datetime,
        thread: Thread | None = None,
    ) -> bytes:
        recipient = messages.transport_address(messages.checked_header("To", address))
        key = (company, customer_number, recipient.isascii())
        if key != self._key:
            self._prepare(recipient, company, customer_number)
            self._key = key
        thread = thread or Thread()
        varying = {
            "to": recipient,
            "date": format_datetime(date),
            "message-id": bounces.message_id(self.settings, self.mailing.id, delivery_id),
        }
        head = []
        for name, folded in self._fields:
            if name in varying:
                head.append(self._policy.fold_binary(VARYING_HEADERS[name], varying[name]))
            else:
                head.append(folded)
            if name == "message-id":
                if thread.in_reply_to:
                    head.append(self._policy.fold_binary("In-Reply-To", thread.in_reply_to))
                if thread.references:
                    references = " ".join(thread.references)
                    head.append(self._policy.fold_binary("References", references))
        return b"".join(head) + b"\r\n" + self._body

    def _prepare(self, recipient: str, company: str, customer_number: str) -> None:
        parts = composing.personalise(self.mailing, company, customer_number)
        message = messages.build_message(
            sender=Address(SENDER_NAME, addr_spec=self.settings.mail_from),
            recipient=recipient,
            subject=parts.subject,
            text=parts.text,
            html=parts.html,
            message_id=bounces.thread_anchor(self.settings, self.mailing.id),
        )
        if messages.has_attachment(message):
            raise AttachmentRefused(f"mailing {self.mailing.id}: message has an attachment part")
        head, _, self._body = message.as_bytes().partition(b"\r\n\r\n")
        self._policy = message.policy
        self._fields = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t"):
                name, folded = self._fields[-1]
                self._fields[-1] = (name, folded + line + b"\r\n")
            else:
                self._fields.append((line.split(b":", 1)[0].decode().lower(), line + b"\r\n"))
