"""The development mail store: a local SMTP server that keeps every message under ``var/mail``.

``make run`` starts it when no ``SMTP_URL`` is set, and ``/dev/mail`` shows what it received
(development mode only). Messages are stored byte for byte, each with its envelope beside it.
Mail to the support mailboxes (and to our bounce addresses) is also handed to the mail-in LMTP
server, as a real MTA would deliver it, so that mail to the support address becomes a ticket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import smtplib
import socket
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Blueprint, abort, render_template, request

from helpdesk.db import utcnow
from helpdesk.labels import mail_headers
from helpdesk.listeners import SocketController
from helpdesk.runtime import current
from helpdesk.security import public

MAX_MESSAGE_BYTES = 30 * 1024 * 1024
LMTP_TIMEOUT_SECONDS = 60

log = logging.getLogger(__name__)


@dataclass
class MailStore:
    directory: Path

    def save(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        received = utcnow()
        name = f"{received:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        envelope = {
            "mail_from": mail_from,
            "rcpt_tos": rcpt_tos,
            "received_at": received.isoformat(),
        }
        (self.directory / f"{name}.json").write_text(json.dumps(envelope))
        partial = self.directory / f".{name}.eml.partial"
        partial.write_bytes(raw)
        partial.rename(self.directory / f"{name}.eml")  # appears complete or not at all
        return name

    def names(self) -> list[str]:
        return sorted((path.stem for path in self.directory.glob("*.eml")), reverse=True)

    def load(self, name: str) -> tuple[dict[str, Any], bytes]:
        if not re.fullmatch(r"[0-9T]+-[0-9a-f]{8}", name):
            raise KeyError(name)
        path = self.directory / f"{name}.eml"
        if not path.exists():
            raise KeyError(name)
        return json.loads((self.directory / f"{name}.json").read_text()), path.read_bytes()


@dataclass(frozen=True)
class LmtpRelay:
    """Where mail for our own mailboxes goes on to: the mail-in LMTP server."""

    host: str
    port: int
    mailboxes: tuple[str, ...]
    bounce_domain: str  # VERP bounce addresses: bounce-...@<bounce_domain>

    def takes(self, recipient: str) -> bool:
        address = recipient.lower()
        local, _, domain = address.rpartition("@")
        return address in {mailbox.lower() for mailbox in self.mailboxes} or (
            local.startswith("bounce-") and domain == self.bounce_domain.lower()
        )

    def hand_over(self, mail_from: str, recipients: list[str], raw: bytes) -> None:
        """Deliver over LMTP; an error is logged, the message stays in the store regardless."""
        # One recipient per transaction: smtplib's LMTP client reads a single DATA reply.
        for recipient in recipients:
            try:
                with smtplib.LMTP(self.host, self.port, timeout=LMTP_TIMEOUT_SECONDS) as client:
                    client.sendmail(mail_from, [recipient], raw)
            except (smtplib.SMTPException, OSError):
                log.exception("dev mail: mail-in did not take the message for %s", recipient)


class _StoreHandler:
    def __init__(self, store: MailStore, relay: LmtpRelay | None) -> None:
        self.store = store
        self.relay = relay

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        self.store.save(mail_from, list(envelope.rcpt_tos), raw)
        if self.relay is not None:
            ours = [rcpt for rcpt in envelope.rcpt_tos if self.relay.takes(rcpt)]
            if ours:
                await asyncio.get_running_loop().run_in_executor(
                    None, self.relay.hand_over, mail_from, ours, raw
                )
        return "250 Message accepted for delivery"


def serve(store: MailStore, listener: socket.socket, relay: LmtpRelay | None = None) -> Controller:
    """Start the SMTP server in a background thread on ``listener``; the caller stops it."""
    # aiosmtpd logs every command and peer at INFO; the store keeps each message anyway.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = SocketController(
        _StoreHandler(store, relay),
        listener,
        data_size_limit=MAX_MESSAGE_BYTES,
        decode_data=False,
    )
    controller.start()
    return controller


blueprint = Blueprint("devmail", __name__, url_prefix="/dev/mail")


@blueprint.before_request
def _only_local_development() -> None:
    """The store shows password-reset links: only to the developer's own machine, and only in
    development (the app mounts it nowhere else; this checks again)."""
    if not current().settings.development or not _loopback(request.remote_addr):
        abort(404)


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack socket
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _store() -> MailStore:
    return MailStore(current().settings.mail_store_dir)


@blueprint.get("")
@public("development mode, loopback clients only: the local mail store of `make run`")
def index() -> str:
    store = _store()
    rows = []
    for name in store.names()[:200]:
        envelope, raw = store.load(name)
        message = message_from_bytes(raw, policy=default_policy)
        rows.append({"name": name, "envelope": envelope, "subject": message["Subject"]})
    return render_template("dev/mail_index.html", rows=rows)


@blueprint.get("/<name>")
@public("development mode, loopback clients only: the local mail store of `make run`")
def show(name: str) -> str:
    try:
        envelope, raw = _store().load(name)
    except KeyError:
        abort(404)
    message = message_from_bytes(raw, policy=default_policy)
    body = message.get_body(preferencelist=("plain",))
    return render_template(
        "dev/mail_show.html",
        name=name,
        envelope=envelope,
        headers=mail_headers(message.items()),
        text=body.get_content() if body is not None else "",
        raw=raw.decode("utf-8", "replace"),
    )
