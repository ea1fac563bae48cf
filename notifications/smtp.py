"""Sending over SMTP: one connection per batch; each reply is sent, temporary or permanent."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from notifications.metrics import MESSAGES_SENT, SMTP_REPLIES

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30
REPLY_CLASSES = {"sent": "2xx", "temporary": "4xx", "permanent": "5xx"}


@dataclass(frozen=True)
class SmtpResult:
    """What the server said about one message."""

    outcome: str  # "sent", "temporary" (retry later) or "permanent" (never retry)
    reply: str

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


class _AddressesAsGiven(smtplib.SMTP):
    """smtplib's MAIL and RCPT commands without re-parsing the address: ``quoteaddr`` runs
    ``email.utils.parseaddr`` on it, which costs more CPU than the rest of the dialogue. The
    addresses sent are our own envelope sender and transport addresses that were validated
    before (``messages.transport_address``); ``putcmd`` still refuses CR and LF in them."""

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        optionlist = ""
        if options and self.does_esmtp:
            if any(option.lower() == "smtputf8" for option in options):
                if not self.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
                self.command_encoding = "utf-8"
            optionlist = " " + " ".join(options)
        self.putcmd("mail", f"FROM:<{sender}>{optionlist}")
        return self.getreply()

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:<{recip}>{optionlist}")
        return self.getreply()


class _AddressesAsGivenSsl(_AddressesAsGiven, smtplib.SMTP_SSL):
    """The same over implicit TLS (``smtps://``)."""


class SmtpConnection:
    """An open SMTP session that sends many messages and classifies each reply."""

    def __init__(self, client: smtplib.SMTP, stream: str) -> None:
        self._client = client
        self._stream = stream

    def send(
        self, sender: str, recipient: str, raw: bytes, copies: Sequence[str] = ()
    ) -> SmtpResult:
        """Send ``raw`` to ``recipient`` (and, in the same transaction, to ``copies``, the Cc
        addresses); the result is the recipient's, a refused copy is only logged."""
        try:
            result = self._send(sender, recipient, raw, copies)
        except SmtpUnavailable:
            SMTP_REPLIES.labels(self._stream, "connection").inc()
            raise
        SMTP_REPLIES.labels(self._stream, REPLY_CLASSES[result.outcome]).inc()
        if result.sent:
            MESSAGES_SENT.labels(self._stream).inc()
        return result

    def _send(self, sender: str, recipient: str, raw: bytes, copies: Sequence[str]) -> SmtpResult:
        envelope = [recipient, *(copy for copy in copies if copy != recipient)]
        options = [] if "".join([sender, *envelope]).isascii() else ["SMTPUTF8"]
        try:
            refused = self._client.sendmail(sender, envelope, raw, mail_options=options)
        except smtplib.SMTPNotSupportedError as error:
            self._reset()
            return SmtpResult("permanent", f"550 {error}")
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients[recipient]
            return _classify(code, text)
        except smtplib.SMTPResponseException as error:
            result = _classify(error.smtp_code, error.smtp_error)
            if error.smtp_code == 421:
                raise SmtpUnavailable(result.reply) from error
            self._reset()
            return result
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            raise SmtpUnavailable(f"connection lost: {error}") from error
        if recipient in refused:
            code, text = refused[recipient]
            return _classify(code, text)
        for copy, (code, text) in refused.items():
            log.warning("copy to %s refused: %s %r", copy, code, text)
        return SmtpResult("sent", "250 accepted")

    def _reset(self) -> None:
        try:
            self._client.rset()
        except (smtplib.SMTPException, OSError) as error:
            raise SmtpUnavailable(f"connection lost: {error}") from error


class SmtpUnavailable(Exception):
    """The server cannot be reached or dropped the session; everything unsent is temporary."""


@dataclass(frozen=True)
class SmtpTransport:
    url: str
    stream: str  # what is sent (outbox, mailing, test): the label of the SMTP metrics

    @contextmanager
    def connect(self) -> Iterator[SmtpConnection]:
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        try:
            if parts.scheme == "smtps":
                client: smtplib.SMTP = _AddressesAsGivenSsl(
                    host,
                    parts.port or 465,
                    timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                client = _AddressesAsGiven(host, parts.port or 25, timeout=TIMEOUT_SECONDS)
                if parts.scheme == "smtp+starttls":
                    client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
        except (smtplib.SMTPException, OSError) as error:
            SMTP_REPLIES.labels(self.stream, "connection").inc()
            raise SmtpUnavailable(f"cannot connect to {host}: {error}") from error
        try:
            yield SmtpConnection(client, self.stream)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _classify(code: int, text: bytes | str) -> SmtpResult:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    reply = f"{code} {message}".strip()
    if 200 <= code < 300:
        return SmtpResult("sent", reply)
    if 400 <= code < 500:
        return SmtpResult("temporary", reply)
    return SmtpResult("permanent", reply)
