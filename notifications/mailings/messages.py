"""The MIME message of one delivery record, built the same way for sending and for the history.

Everything in it comes from stored data: the mailing's frozen skeleton, the record's
personalisation snapshot, its id (Message-ID) and the Date it went out with. A follow-up
threads per recipient: In-Reply-To and References name the messages this same address of this
same account received from the earlier mailings of the matter (or, where it received none, the
earlier mailing's anchor id).
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.policy import Policy
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from notifications import messages
from notifications.mailings import bounces, composing
from notifications.mailings.models import Mailing, MailingDelivery

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


def quoted_printable(text: str) -> bytes:
    """``text`` as a quoted-printable body with CRLF line ends (the C encoder of binascii)."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    if not normalised.endswith("\n"):
        normalised += "\n"
    encoded = binascii.b2a_qp(normalised.encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


@dataclass
class _Skeleton:
    """A mailing's message serialised once by ``EmailMessage`` with marker payloads."""

    policy: Policy
    fields: list[tuple[str, bytes]]  # (lower-case name, folded header field)
    pieces: list[bytes]  # body bytes around the text and the HTML payload


class MessageFactory:
    """Builds a mailing's messages as bytes, ready to sign.

    The message structure and every constant header are produced once per mailing by
    ``EmailMessage`` with the SMTP policy, with marker payloads in the text and HTML parts.
    Per account, the personalised text and HTML go into those parts, quoted-printable encoded;
    per recipient, the headers that name it (To, Date, Message-ID, In-Reply-To, References)
    are folded and encoded by the same policy's ``fold_binary``. Rendering and MIME encoding
    through the email package per message would cost more than signing it.
    """

    def __init__(self, settings: Settings, mailing: Mailing) -> None:
        self.settings = settings
        self.mailing = mailing
        self._skeletons: dict[bool, _Skeleton] = {}
        self._account: tuple[str, str, bool] | None = None
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
        ascii_only = recipient.isascii()
        skeleton = self._skeletons.get(ascii_only) or self._skeleton(recipient)
        if self._account != (company, customer_number, ascii_only):
            parts = composing.personalise(self.mailing, company, customer_number)
            text, html = quoted_printable(parts.text), quoted_printable(parts.html)
            self._body = b"".join(
                (skeleton.pieces[0], text, skeleton.pieces[1], html, skeleton.pieces[2])
            )
            self._account = (company, customer_number, ascii_only)
        thread = thread or Thread()
        varying = {
            "to": recipient,
            "date": format_datetime(date),
            "message-id": bounces.message_id(self.settings, self.mailing.id, delivery_id),
        }
        head = []
        for name, folded in skeleton.fields:
            if name in varying:
                head.append(skeleton.policy.fold_binary(VARYING_HEADERS[name], varying[name]))
            else:
                head.append(folded)
            if name == "message-id":
                if thread.in_reply_to:
                    head.append(skeleton.policy.fold_binary("In-Reply-To", thread.in_reply_to))
                if thread.references:
                    references = " ".join(thread.references)
                    head.append(skeleton.policy.fold_binary("References", references))
        return b"".join(head) + b"\r\n" + self._body

    def _skeleton(self, recipient: str) -> _Skeleton:
        marker = f"payload{secrets.token_hex(8)}"
        message = messages.build_message(
            sender=Address(SENDER_NAME, addr_spec=self.settings.mail_from),
            recipient=recipient,
            subject=self.mailing.subject,
            text=f"{marker}text",
            html=f"{marker}html",
            message_id=bounces.thread_anchor(self.settings, self.mailing.id),
        )
        if messages.has_attachment(message):
            raise AttachmentRefused(f"mailing {self.mailing.id}: message has an attachment part")
        # A boundary fixed per mailing keeps a rebuilt message identical to the one sent; "=_"
        # cannot occur in quoted-printable text, so it never collides with the content.
        message.set_boundary(f"=_mailing{self.mailing.id}.{self.mailing.slot_token}")
        head, _, body = message.as_bytes().partition(b"\r\n\r\n")
        first, rest = body.split(f"{marker}text\r\n".encode())
        second, third = rest.split(f"{marker}html\r\n".encode())
        fields: list[tuple[str, bytes]] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t"):
                name, folded = fields[-1]
                fields[-1] = (name, folded + line + b"\r\n")
            else:
                fields.append((line.split(b":", 1)[0].decode().lower(), line + b"\r\n"))
        skeleton = _Skeleton(message.policy, fields, [first, second, third])
        self._skeletons[recipient.isascii()] = skeleton
        return skeleton
