"""What leads a bounce back to its delivery record: the VERP envelope sender and Message-ID.

Each mandatory-mailing message goes out with the envelope sender
``bounce-<delivery id>-<tag>@<mail domain>``; ``tag`` is a short HMAC of the id under the
secret key, so a forged bounce cannot mark other people's records. The Message-ID
``<mailing.<mailing id>.<delivery id>@<mail domain>>`` identifies the record too, for bounces
that quote the original headers instead of using the envelope.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from sqlalchemy import update
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from helpdesk.db import rows_changed, utcnow
from notifications.mailings.models import MailingDelivery

TAG_LENGTH = 10
_VERP = re.compile(rf"bounce-([0-9]{{1,18}})-([0-9a-f]{{{TAG_LENGTH}}})")
_MESSAGE_ID = re.compile(r"<?mailing\.([0-9]{1,18})\.([0-9]{1,18})@[^>\s]+>?")


def _tag(settings: Settings, delivery_id: int) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"verp:{delivery_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:TAG_LENGTH]


def verp_address(settings: Settings, delivery_id: int) -> str:
    """The envelope sender (Return-Path) for one delivery record."""
    return f"bounce-{delivery_id}-{_tag(settings, delivery_id)}@{settings.mail_domain}"


def parse_verp(settings: Settings, address: str) -> int | None:
    """The delivery id in a VERP address of ours, or None (foreign domain, bad or forged tag)."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.mail_domain.lower():
        return None
    match = _VERP.fullmatch(local.lower())
    if match is None:
        return None
    delivery_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _tag(settings, delivery_id)):
        return None
    return delivery_id


def message_id(settings: Settings, mailing_id: int, delivery_id: int) -> str:
    """The Message-ID of a delivery record's message; the same on every attempt."""
    return f"<mailing.{mailing_id}.{delivery_id}@{settings.mail_domain}>"


def thread_anchor(settings: Settings, mailing_id: int) -> str:
    """An id naming the whole mailing, in follow-ups' References for recipients it missed."""
    return f"<mailing.{mailing_id}@{settings.mail_domain}>"


def parse_message_id(value: str) -> tuple[int, int] | None:
    """(mailing id, delivery id) of one of our mailing Message-IDs, else None."""
    match = _MESSAGE_ID.fullmatch(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def record_bounce(
    session: Session,
    *,
    delivery_id: int | None = None,
    message_id: str | None = None,
    status: str,
    diagnostic: str,
) -> bool:
    """Mark the delivery record 'bounced' with the DSN status; False when none matches."""
    condition = None
    if delivery_id is not None:
        condition = MailingDelivery.id == delivery_id
    elif message_id is not None and (ids := parse_message_id(message_id)) is not None:
        condition = (MailingDelivery.id == ids[1]) & (MailingDelivery.mailing_id == ids[0])
    if condition is None:
        return False
    changed = rows_changed(
        session,
        update(MailingDelivery)
        .where(condition)
        .values(
            state="bounced",
            smtp_reply=f"{status} {diagnostic}".strip()[:2000],
            claimed_by=None,
            updated_at=utcnow(),
        ),
    )
    return bool(changed)
