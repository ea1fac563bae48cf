"""The pipe door's thin client: hand one message to the running LMTP server and read its reply.

An MTA's pipe transport runs a process per message; taking the message itself would mean
importing the whole service first (about a second of CPU). This module imports a few
standard-library modules and nothing of the service, so ``helpdesk-mail-in`` (its console
script) starts in about as much CPU as the bare interpreter and the LMTP server, already
warm, does the work. ``helpdesk mail-in deliver --via-lmtp`` is the same client behind the
``helpdesk`` command (which loads click first). It speaks LMTP over a socket itself: smtplib
would import ``ssl`` and the ``email`` package, which cost more than the rest of the start.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
from collections.abc import Sequence
from typing import NamedTuple

from helpdesk.lmtp_address import mail_in_address

TIMEOUT_SECONDS = 60
MAX_REPLY_LINE = 8192
EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and retries
# The LMTP server's reply for a taken message: "created HD-000042: reason" (tickets.inbound.lmtp).
TAKEN = re.compile(r"^(?:\d\.\d{1,3}\.\d{1,3} )?(\w+)(?: (\S+))?: (.*)$", re.DOTALL)
USAGE = "usage: helpdesk-mail-in --to MAILBOX --from SENDER < message"


class Reply(NamedTuple):
    """The LMTP server's reply to the message (a tuple: ``dataclasses`` imports ``inspect``,
    which costs a pipe process more than the rest of its imports)."""

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


class _Session:
    """One LMTP conversation (RFC 2033): a command line out, a possibly multi-line reply in."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._replies = connection.makefile("rb")

    def reply(self) -> Reply:
        lines = []
        while True:
            line = self._replies.readline(MAX_REPLY_LINE)
            if not line.endswith(b"\n") or not line[:3].isdigit():
                raise OSError(f"no LMTP reply: {line[:200]!r}")
            lines.append(line[4:].rstrip(b"\r\n"))
            if line[3:4] != b"-":
                return Reply(int(line[:3]), b"\n".join(lines).decode("utf-8", "replace"))

    def command(self, line: str) -> Reply:
        self._connection.sendall(line.encode("utf-8") + b"\r\n")
        return self.reply()

    def data(self, raw: bytes) -> Reply:
        """DATA with the message: CRLF line ends (a pipe usually brings bare LF), dot-stuffed."""
        started = self.command("DATA")
        if started.code != 354:
            return started
        content = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r?\n", b"\r\n", raw))
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        self._connection.sendall(content + b".\r\n")
        return self.reply()


def hand_over(raw: bytes, host: str, port: int, mailbox: str, sender: str) -> Reply:
    """Deliver ``raw`` for ``mailbox`` over LMTP; a server that cannot be reached is a 4xx.

    An empty or ``<>`` sender is the null sender of a bounce.
    """
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as connection:
            lmtp = _Session(connection)
            reply = lmtp.reply()
            if reply.code == 220:
                reply = lmtp.command(f"LHLO {socket.getfqdn()}")
            if reply.code == 250:
                reply = lmtp.command(f"MAIL FROM:<{sender.strip().strip('<>')}>")
            if reply.code == 250:
                reply = lmtp.command(f"RCPT TO:<{mailbox}>")
            if reply.code in (250, 251):
                reply = lmtp.data(raw)
            with contextlib.suppress(OSError):  # the reply that counts has arrived
                lmtp.command("QUIT")
    except OSError as error:
        return Reply(451, f"4.4.1 LMTP server {host}:{port} not reachable: {error}")
    return reply


def answer(reply: Reply) -> int:
    """Print what `deliver` prints for ``reply`` and return its exit code."""
    if reply.taken:
        print(json.dumps(reply.outcome(), ensure_ascii=False))
        return 0
    if reply.temporary:
        print(f"mail-in: try again later ({reply.code}): {reply.text}", file=sys.stderr)
        return EX_TEMPFAIL
    print(f"mail-in: refused ({reply.code}): {reply.text}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """``helpdesk-mail-in --to MAILBOX --from SENDER``: the pipe door without the ``helpdesk``
    command, for MTAs that start a process per message (exit codes as `mail-in deliver`)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    options: dict[str, str] = {}
    while arguments:
        name = arguments.pop(0)
        if name not in ("--to", "--from") or not arguments or name in options:
            print(USAGE, file=sys.stderr)
            return 2
        options[name] = arguments.pop(0)
    if len(options) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        host, port = mail_in_address()
    except ValueError as error:
        print(f"mail-in: configuration: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    raw = sys.stdin.buffer.read()
    return answer(hand_over(raw, host, port, options["--to"], options["--from"]))
