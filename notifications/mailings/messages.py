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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.policy import Policy
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from helpdesk.config import Settings
from helpdesk.dkimkeys import DkimKey
from notifications import dkim_fast, messages
from notifications.dkim_fast import Field
from notifications.mailings import bounces, composing
from notifications.mailings.models import Mailing, MailingDelivery

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
    """The thread headers for each recipient, in one query for all of them.

    A record re-sent to a repaired address ("Nachsenden") threads as the bounced message it
    replaces: In-Reply-To names that message, References its references and it.
    """
    wanted = set(recipients)
    if not wanted:
        return {}
    original = aliased(MailingDelivery)
    resends = [
        row
        for row in session.execute(
            select(
                MailingDelivery.account_id,
                MailingDelivery.address,
                original.id,
                original.address,
            )
            .join(original, original.id == MailingDelivery.resend_of_id)
            .where(
                MailingDelivery.mailing_id == mailing.id,
                MailingDelivery.account_id.in_({account for account, _ in wanted}),
            )
        )
        if (row[0], row[1]) in wanted
    ]
    originals = {(account_id, address) for account_id, _, _, address in resends}
    result = _follow_up_threads(session, settings, mailing, wanted | originals)
    for account_id, address, original_id, original_address in resends:
        before = result.get((account_id, original_address), Thread())
        replaced = bounces.message_id(settings, mailing.id, original_id)
        result[(account_id, address)] = Thread(replaced, (*before.references, replaced))
    return result


def _follow_up_threads(
    session: Session, settings: Settings, mailing: Mailing, wanted: set[Recipient]
) -> dict[Recipient, Thread]:
    chain = ancestors(session, mailing)
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
    fields: list[Field]  # folded, and canonicalised once for the DKIM signatures
    pieces: list[bytes]  # body bytes around the text and the HTML payload


@dataclass(frozen=True)
class Composed:
    """One recipient's message, unsigned: its transport address, header fields and body."""

    recipient: str
    fields: list[Field]
    body: bytes

    @property
    def raw(self) -> bytes:
        return b"".join(field.line for field in self.fields) + b"\r\n" + self.body

    def signed(self, domain: str, keys: Sequence[DkimKey]) -> bytes:
        """The message with its DKIM signatures on top, from the fields as canonicalised."""
        return dkim_fast.signatures(self.fields, self.body, domain, keys) + self.raw


class MessageFactory:
    """Builds a mailing's messages as bytes, ready to sign.

    The message structure and every constant header are produced once per mailing by
    ``EmailMessage`` with the SMTP policy, with marker payloads in the text and HTML parts.
    Per account, the personalised text and HTML go into those parts, quoted-printable encoded;
    per recipient, the headers that name it (To, Date, Message-ID, In-Reply-To, References)
    are folded and encoded by the same policy's ``fold_binary`` (Date once per second).
    Rendering and MIME encoding through the email package per message would cost more than
    signing it. Every field is canonicalised for DKIM when it is made, the constant ones once.
    """

    def __init__(self, settings: Settings, mailing: Mailing) -> None:
        self.settings = settings
        self.mailing = mailing
        self._skeletons: dict[bool, _Skeleton] = {}
        self._account: tuple[str, str, bool] | None = None
        self._body = b""
        self._date: tuple[datetime, bool, Field] | None = None

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
        """The message as sent to ``address``, without its DKIM signatures."""
        return self.compose(
            delivery_id=delivery_id,
            recipient=messages.transport_address(messages.checked_header("To", address)),
            company=company,
            customer_number=customer_number,
            date=date,
            thread=thread,
        ).raw

    def compose(
        self,
        *,
        delivery_id: int,
        recipient: str,
        company: str,
        customer_number: str,
        date: datetime,
        thread: Thread | None = None,
    ) -> Composed:
        """The message to ``recipient``, an address in transport form
        (``messages.transport_address``)."""
        ascii_only = messages.checked_header("To", recipient).isascii()
        skeleton = self._skeletons.get(ascii_only) or self._skeleton(recipient)
        if self._account != (company, customer_number, ascii_only):
            parts = composing.personalise(self.mailing, company, customer_number)
            text, html = quoted_printable(parts.text), quoted_printable(parts.html)
            self._body = b"".join(
                (skeleton.pieces[0], text, skeleton.pieces[1], html, skeleton.pieces[2])
            )
            self._account = (company, customer_number, ascii_only)
        thread = thread or Thread()
        fold = skeleton.policy.fold_binary
        fields = []
        for field in skeleton.fields:
            if field.name == b"to":
                fields.append(Field.parse(fold("To", recipient)))
            elif field.name == b"date":
                fields.append(self._date_field(skeleton, date, ascii_only))
            elif field.name == b"message-id":
                message_id = bounces.message_id(self.settings, self.mailing.id, delivery_id)
                fields.append(Field.parse(fold("Message-ID", message_id)))
                if thread.in_reply_to:
                    fields.append(Field.parse(fold("In-Reply-To", thread.in_reply_to)))
                if thread.references:
                    fields.append(Field.parse(fold("References", " ".join(thread.references))))
            else:
                fields.append(field)
        return Composed(recipient, fields, self._body)

    def _date_field(self, skeleton: _Skeleton, date: datetime, ascii_only: bool) -> Field:
        """The Date field, made once per second (the header has no finer resolution)."""
        second = date.replace(microsecond=0)
        if self._date is None or self._date[:2] != (second, ascii_only):
            folded = skeleton.policy.fold_binary("Date", format_datetime(second))
            self._date = (second, ascii_only, Field.parse(folded))
        return self._date[2]

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
        lines: list[bytes] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t"):
                lines[-1] += line + b"\r\n"
            else:
                lines.append(line + b"\r\n")
        fields = [Field.parse(line) for line in lines]
        skeleton = _Skeleton(message.policy, fields, [first, second, third])
        self._skeletons[recipient.isascii()] = skeleton
        return skeleton
