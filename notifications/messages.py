"""Building MIME messages with the standard library; headers are never concatenated by hand."""

from __future__ import annotations

import secrets
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from helpdesk.db import utcnow
from helpdesk.text import body_text_problem, header_text_problem


class UnsafeText(ValueError):
    """A header value or text the message cannot carry (a line break in a header, a control
    character, a lone surrogate): the same characters every door refuses."""


def checked_header(name: str, value: str) -> str:
    """``value`` if the doors' rule for header texts allows it (helpdesk.text), else raise."""
    if header_text_problem(value):
        raise UnsafeText(
            f"{name} must not contain line breaks, control characters or lone surrogates"
        )
    return value


def checked_body(value: str) -> str:
    """``value`` if the doors' rule for long texts allows it, else raise UnsafeText."""
    if body_text_problem(value):
        raise UnsafeText("text must not contain control characters or lone surrogates")
    return value


def transport_address(address: str) -> str:
    """The address as it travels: the domain in IDNA (ASCII) form. Only a non-ASCII local part
    stays non-ASCII, and then needs SMTPUTF8 (RFC 6531)."""
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return address
    return checked.ascii_email or f"{checked.local_part}@{checked.ascii_domain}"


def new_message_id(domain: str) -> str:
    return make_msgid(domain=domain)


def new_boundary() -> str:
    """A MIME boundary no quoted-printable part can contain: such a part writes every "=" as
    "=3D", and the boundary starts with "=_". Without one, the generator draws a boundary
    and compiles a pattern to search the parts for it: a fifth of a message's CPU."""
    return f"=_{secrets.token_hex(16)}"


class _HeadersMadeOnce(EmailPolicy):
    """The SMTP policy, except that a header made from a string is parsed once per distinct
    (name, value): the constant ones (MIME-Version, the parts' Content-Type and encoding,
    Auto-Submitted) cost a parse per message otherwise. Header objects are immutable."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, str) and not hasattr(value, "name"):
            return _made_header(name, value)
        return super().header_store_parse(name, value)


@lru_cache(maxsize=1024)
def _made_header(name: str, value: str) -> tuple[str, Any]:
    return SMTP.header_store_parse(name, value)


OUTBOUND = _HeadersMadeOnce(linesep="\r\n")  # email.policy.SMTP, with the cache
OUTBOUND_UTF8 = OUTBOUND.clone(utf8=True)


def build_message(
    *,
    sender: Address,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: bool = True,
    cc: tuple[str, ...] = (),
) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred by clients)."""
    recipient = transport_address(checked_header("To", recipient))
    copies = [transport_address(checked_header("Cc", address)) for address in cc]
    plain = all(address.isascii() for address in (recipient, *copies))
    message = EmailMessage(policy=OUTBOUND if plain else OUTBOUND_UTF8)
    message["From"] = sender
    message["To"] = recipient
    if copies:
        message["Cc"] = ", ".join(copies)
    message["Subject"] = checked_header("Subject", subject)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    if auto_submitted:
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        checked_body(text), subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    message.make_alternative(boundary=new_boundary())
    message.add_alternative(
        checked_body(html), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    return message


def has_attachment(message: EmailMessage) -> bool:
    """True when any part is an attachment or is not text (mandatory mail never has one)."""
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() in ("attachment", "inline") and part.get_filename():
            return True
        if part.get_content_maintype() != "text":
            return True
    return False
