"""The pipe door's thin client: hand one message to the running LMTP server and read its reply.

`helpdesk mail-in deliver --via-lmtp` runs once per message; taking the message itself would
mean importing the whole service first (about a second of CPU). This module needs only the
standard library, so the command starts in tens of milliseconds and the LMTP server, already
warm, does the work. The reply is turned back into what `deliver` prints and exits with.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass

TIMEOUT_SECONDS = 60
# The LMTP server's reply for a taken message: "created HD-000042: reason" (tickets.inbound.lmtp).
TAKEN = re.compile(r"^(?:\d\.\d{1,3}\.\d{1,3} )?(\w+)(?: (\S+))?: (.*)$", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def taken(self) -> bool:
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def outcome(self) -> dict[str, str | None]:
        """The JSON `deliver` prints for a taken message: action, reason, ticket."""
        found = TAKEN.match(self.text)
        if found is None:
            return {"action": "taken", "reason": self.text, "ticket": None}
        action, ticket, reason = found.groups()
        return {"action": action, "reason": reason, "ticket": ticket}


def hand_over(raw: bytes, host: str, port: int, mailbox: str, sender: str) -> Reply:
    """Deliver ``raw`` for ``mailbox`` over LMTP; a server that cannot be reached is a 4xx."""
    try:
        with smtplib.LMTP(host, port, timeout=TIMEOUT_SECONDS) as client:
            client.ehlo_or_helo_if_needed()
            code, message = client.mail(sender)
            if code == 250:
                code, message = client.rcpt(mailbox)
            if code in (250, 251):
                # SMTP wants CRLF line ends; a pipe usually brings bare LF.
                code, message = client.data(re.sub(rb"\r?\n", b"\r\n", raw))
    except (OSError, smtplib.SMTPException) as error:
        return Reply(451, f"4.4.1 LMTP server {host}:{port} not reachable: {error}")
    return Reply(code, message.decode("utf-8", "replace"))
