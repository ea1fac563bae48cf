"""A mail's attachments stored on its ticket, under the tickets' size and type limits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.runtime import Runtime
from tickets.attachments import AttachmentRejected, store_attachment
from tickets.inbound.parsing import SIGNED_OR_ENCRYPTED, MailAttachment, ParsedMail
from tickets.models import TicketMessage

ACTOR = "mail-in"
ORIGINAL_NAME = "original-nachricht.eml"


def store_mail_attachments(
    runtime: Runtime, session: Session, entry: TicketMessage, mail: ParsedMail, raw: bytes
) -> list[str]:
    """Store each attachment on the ticket; return a line for each that was refused.

    A signed or encrypted mail is stored whole as ``.eml`` too: an S/MIME or PGP signature is
    only verifiable together with the parts it signs, so those parts are not stored alone.
    """
    rejected: list[str] = []
    attachments = [
        attachment
        for attachment in mail.attachments
        if attachment.content_type not in SIGNED_OR_ENCRYPTED
    ]
    if mail.signed_or_encrypted:
        attachments.append(MailAttachment(ORIGINAL_NAME, "message/rfc822", raw))
    for attachment in attachments:
        try:
            store_attachment(
                runtime,
                session,
                entry.ticket_id,
                entry.id,
                attachment.filename,
                attachment.content_type,
                attachment.data,
                uploaded_by=mail.sender,
            )
        except AttachmentRejected as error:
            rejected.append(f"{attachment.filename}: {error}")
    if rejected:
        session.add(
            TicketMessage(
                ticket_id=entry.ticket_id,
                kind="internal",
                author=ACTOR,
                channel="email",
                body="Nicht übernommene Anhänge (die E-Mail liegt in der Quarantäne):\n"
                + "\n".join(f"- {line}" for line in rejected),
            )
        )
    return rejected
