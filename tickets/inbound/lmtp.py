"""The LMTP door: a real MTA (Postfix ``lmtp:inet:host:port``) delivers support mail here.

LMTP answers DATA once per recipient, so one message to both the support and the accounting
mailbox gets a reply for each. A recipient is refused at RCPT unless it is one of our
mailboxes or a VERP bounce address; a message over ``MAIL_IN_MAX_BYTES`` is refused with
``552 5.3.4`` (at MAIL FROM when the client announces SIZE, else after DATA). Each message is
taken in a worker thread, so a slow database never stalls the protocol of other clients, and
the reply is sent only after the message is committed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import Envelope, Session

from helpdesk import logs
from helpdesk.listeners import SocketController, listen
from helpdesk.runtime import Runtime
from tickets.inbound.parsing import envelope_address
from tickets.inbound.services import MailDeferred, MailRefused, check_mailbox, take_message

log = logging.getLogger(__name__)

TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"
LINE_TOO_LONG = "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6)"
DATA_ERRORS = ("552 Error: Too much mail data", "500 Line too long")


class SizedLMTP(LMTP):
    """aiosmtpd's LMTP with RFC 3463 codes for oversized mail, one reply per recipient."""

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("552 Error: message size exceeds"):
            return await super().push(TOO_BIG)
        if text.startswith(DATA_ERRORS):
            # After DATA, LMTP owes one reply per accepted recipient, errors included.
            reply = TOO_BIG if text.startswith("552") else LINE_TOO_LONG
            recipients = len(self.envelope.rcpt_tos) if self.envelope else 1
            return await super().push("\r\n".join([reply] * max(recipients, 1)))
        return await super().push(status)


class MailInHandler:
    """aiosmtpd hooks: check recipients at RCPT, take the message per recipient at DATA."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def handle_RCPT(
        self, server: LMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        try:
            envelope.rcpt_tos.append(check_mailbox(self.runtime.settings, address))
        except MailRefused as error:
            return f"{error.smtp} {error}"
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: LMTP, session: Session, envelope: Envelope) -> str:
        loop = asyncio.get_running_loop()
        raw = envelope.original_content or b""
        replies = []
        for mailbox in envelope.rcpt_tos:
            replies.append(
                await loop.run_in_executor(
                    None, self._take, raw, mailbox, envelope_address(envelope.mail_from)
                )
            )
        return "\r\n".join(replies)

    def _take(self, raw: bytes, mailbox: str, envelope_sender: str | None) -> str:
        with logs.scope(mailbox=mailbox):
            return self._reply(raw, mailbox, envelope_sender)

    def _reply(self, raw: bytes, mailbox: str, envelope_sender: str | None) -> str:
        try:
            outcome = take_message(
                self.runtime, raw, mailbox=mailbox, envelope_sender=envelope_sender
            )
        except MailRefused as error:
            return f"{error.smtp} {_one_line(str(error))}"
        except MailDeferred as error:
            return f"{error.smtp} {_one_line(str(error))}"
        except Exception:
            # Whatever broke (database, Redis), the MTA keeps the message and tries again.
            log.exception("mail to %s could not be taken; deferred", mailbox)
            return "451 4.3.0 Temporary failure taking the message, try again later"
        ticket = f" {outcome.ticket}" if outcome.ticket else ""
        return f"250 2.0.0 {outcome.action}{ticket}: {_one_line(outcome.reason)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]


class LMTPController(SocketController):
    """aiosmtpd's threaded controller, serving LMTP instead of SMTP."""

    def factory(self) -> SizedLMTP:
        return SizedLMTP(self.handler, **self.SMTP_kwargs)


def start_server(
    runtime: Runtime, host: str, port: int, listener: socket.socket | None = None
) -> LMTPController:
    """Start the LMTP server in a background thread on ``host:port`` (PortTaken if another
    program has it), or on ``listener`` already bound by the caller; the caller stops it."""
    settings = runtime.settings
    controller = LMTPController(
        MailInHandler(runtime),
        listener if listener is not None else listen(host, port, "MAIL_IN_PORT"),
        ready_timeout=10,
        server_hostname=settings.mail_domain,
        data_size_limit=settings.mail_in_max_bytes,
        decode_data=False,
        ident="helpdesk mail-in",
    )
    controller.start()
    return controller
