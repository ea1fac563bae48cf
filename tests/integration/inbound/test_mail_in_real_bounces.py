"""Real bounces and automatic mail through the LMTP door: never a ticket, never refused, kept."""

from __future__ import annotations

import json
from collections import Counter
from email import message_from_bytes

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from helpdesk.cli import main
from notifications.mailings import bounces
from notifications.outbox.models import OutboundMessage
from tests.corpus import load
from tests.data.mail_in import CorpusMessage, messages
from tests.integration.inbound.factories import delivery_state, make_delivery
from tickets.inbound import quarantine
from tickets.inbound.models import InboundBounce
from tickets.models import Ticket

SUPPORT = "support@support.example.com"
CORPUS = {message.name: message for message in messages()}
ACTION = {
    "failed": "bounce",
    "delayed": "bounce",
    "report": "bounce",
    "automatic": "ignored",
    "person": "created",
}
# One bounce per kind of server: Postfix, Exim, Sendmail, qmail, Exchange, GroupWise, Lotus
# Domino, Yahoo, AOL, Gmail (relayed by Sendmail), Hotmail, MDaemon-style text, SimpleMatch.
BY_MTA = [
    "flufl-bounce/postfix_01.txt",
    "flufl-bounce/exim_01.txt",
    "flufl-bounce/sendmail_01.txt",
    "flufl-bounce/qmail_01.txt",
    "flufl-bounce/microsoft_01.txt",
    "flufl-bounce/groupwise_01.txt",
    "bounceparser/domino.unknown.msg",
    "flufl-bounce/yahoo_01.txt",
    "flufl-bounce/aol_01.txt",
    "bounceparser/gmail-via-sendmail.unknown.msg",
    "bounceparser/hotmail-via-sendmail.unknown.msg",
    "bounce-email/undeliverable_gmail.eml",
    "flufl-bounce/simple_08.txt",
]


def as_mta_sends(raw: bytes) -> bytes:
    """CRLF line ends, and lines over 998 bytes broken with CRLF SPACE as Postfix's
    ``lmtp_line_length_limit`` does: what an MTA hands to an LMTP server."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    broken = [
        b"\r\n ".join(line[start : start + 990] for start in range(0, len(line), 990)) or b""
        for line in lines
    ]
    return b"\r\n".join(broken)


def send(lmtp, message: CorpusMessage, recipient: str = SUPPORT) -> tuple[int, str]:
    sender = message.envelope_sender
    [reply], refused = lmtp.send(
        as_mta_sends(message.raw),
        [recipient],
        sender="relay@corpus.example" if sender is None else sender,
    )
    assert refused == {}
    return reply


def test_every_real_message_is_taken_and_no_bounce_becomes_a_ticket(lmtp, runtime):
    actions: Counter[tuple[str, str]] = Counter()
    for message in CORPUS.values():
        code, text = send(lmtp, message)
        assert code == 250, (message.name, text)
        actions[(message.kind, text.split()[1].rstrip(":"))] += 1

    assert {kind: action for kind, action in actions} == ACTION
    kinds = Counter(message.kind for message in CORPUS.values())
    with runtime.db.session() as session:
        assert session.scalar(select(func.count(Ticket.id))) == kinds["person"]
        assert session.scalar(select(func.count(OutboundMessage.id))) == kinds["person"]
        kept = Counter(session.scalars(select(InboundBounce.kind)))
    assert kept == Counter(
        {kind: kinds[kind] for kind in ("failed", "delayed", "report")}
    ) - Counter({"failed": _shared_message_ids()})


def _shared_message_ids() -> int:
    """Corpus bounces that repeat another one's Message-ID count once (a re-delivery)."""
    seen: Counter[str] = Counter()
    for message in CORPUS.values():
        if message.kind == "failed":
            value = message_from_bytes(message.raw).get("Message-ID")
            if value:
                seen[str(value).strip()] += 1
    return sum(count - 1 for count in seen.values())


@pytest.mark.parametrize("name", BY_MTA)
def test_a_real_bounce_to_the_verp_address_marks_the_delivery_with_status_and_class(
    name, lmtp, runtime, settings
):
    message = CORPUS[name]
    _mailing, delivery_id = make_delivery(runtime)
    verp = bounces.verp_address(settings, delivery_id)

    code, text = send(lmtp, message, recipient=verp)

    assert code == 250
    assert f"mailing delivery {delivery_id} marked bounced" in text
    state, reply = delivery_state(runtime, delivery_id)
    assert state == "bounced"
    with runtime.db.session() as session:
        entry = session.scalars(select(InboundBounce)).one()
    assert (entry.delivery_id, entry.kind, entry.raw) == (delivery_id, "failed", None)
    # A 4.x.x status on a final failure (queue time exceeded) is a soft bounce.
    assert entry.severity == ("soft" if entry.status[:1] == "4" else entry.severity)
    assert entry.status[:1] in ("4", "5") and entry.severity in ("hard", "soft")
    assert reply.startswith(entry.status)


def test_a_real_delay_warning_never_marks_the_delivery_failed(lmtp, runtime, settings):
    _mailing, delivery_id = make_delivery(runtime)
    verp = bounces.verp_address(settings, delivery_id)

    code, text = send(lmtp, CORPUS["flufl-bounce/dsn_06.txt"], recipient=verp)

    assert (code, text.split(":")[0]) == (250, "2.0.0 bounce")
    assert "delay warning (4.4.0)" in text
    assert delivery_state(runtime, delivery_id) == ("sent", None)


def test_a_real_bounce_quoting_our_message_id_marks_the_delivery_without_verp(lmtp, runtime):
    mailing_id, delivery_id = make_delivery(runtime)
    ours = f"<mailing.{mailing_id}.{delivery_id}@support.example.com>"
    raw = CORPUS["bounceparser/postfix.msg"].raw
    quoted = b"<20060527213404.GN13012@mta.domain-1.com>"
    assert quoted in raw

    [(code, text)], _ = lmtp.send(
        as_mta_sends(raw.replace(quoted, ours.encode())), [SUPPORT], sender=""
    )

    assert code == 250
    assert f"mailing {ours} marked bounced" in text
    assert delivery_state(runtime, delivery_id)[0] == "bounced"


def test_an_amazon_ses_json_notification_marks_the_delivery_it_names(deliver, runtime):
    mailing_id, delivery_id = make_delivery(runtime)
    ours = f"<mailing.{mailing_id}.{delivery_id}@support.example.com>"

    result = deliver(load("ses_bounce_notification.eml", ORIGINAL_ID=ours), "--to", SUPPORT)

    assert result.outcome["action"] == "bounce"
    assert result.outcome["reason"] == f"mailing {ours} marked bounced (5.1.1, hard)"
    assert delivery_state(runtime, delivery_id)[0] == "bounced"


def test_unmatched_bounces_are_kept_with_their_bytes_and_listed(lmtp, runtime, cli_env):
    message = CORPUS["flufl-bounce/exim_01.txt"]
    send(lmtp, message)

    result = CliRunner().invoke(main, ["mail-in", "bounces", "--unmatched", "--json"], env=cli_env)

    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (row["recipient"], row["kind"], row["delivery"]) == (
        "userx@its.example.nl",
        "failed",
        None,
    )
    with runtime.db.session() as session:
        kept = session.scalars(select(InboundBounce.raw)).one()
    assert kept.rstrip(b"\r\n") == as_mta_sends(message.raw).rstrip(b"\r\n")
    assert row["size"] == len(kept)


def test_a_null_sender_over_lmtp_is_a_null_sender_as_in_the_pipe(lmtp, deliver):
    raw = (
        b"From: system@kunde.example\r\nTo: support@support.example.com\r\n"
        b"Subject: Hinweis\r\nMessage-ID: <null-sender-1@kunde.example>\r\n\r\nText\r\n"
    )

    [(code, text)], _ = lmtp.send(raw, [SUPPORT], sender="")
    piped = deliver(raw, "--to", SUPPORT, "--from", "")

    assert (code, text) == (250, "2.0.0 ignored: automatic: null envelope sender")
    assert piped.outcome["reason"] == "automatic: null envelope sender"


def test_ordinary_mail_from_postmaster_is_a_ticket(lmtp, runtime):
    [(code, text)], _ = lmtp.send(load("postmaster_ordinary_mail.eml"), [SUPPORT])

    assert code == 250
    assert text.startswith("2.0.0 created HD-000001")


@pytest.mark.parametrize("sender", ["admin@shop.local", "abuse@kunde.test"])
def test_senders_at_non_public_domains_open_tickets(sender, lmtp):
    raw = (
        f"From: {sender}\r\nTo: support@support.example.com\r\nSubject: Frage\r\n"
        f"Message-ID: <{sender.replace('@', '.')}@x.example>\r\n\r\nHallo\r\n"
    ).encode()

    [(code, text)], _ = lmtp.send(raw, [SUPPORT], sender=sender)

    assert (code, text.split()[1]) == (250, "created")


def _nested(levels: int) -> bytes:
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
        for level in range(levels)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % level for level in reversed(range(levels)))
    return (
        b"From: kunde@kunde.example\r\nSubject: tief\r\nMIME-Version: 1.0\r\n"
        + opening
        + b"Content-Type: text/plain\r\n\r\nhi"
        + closing
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_nested(60), "MIME parts nested"),
        (
            b"From: kunde@kunde.example\r\nSubject: Gr\xfc\xdfe\r\n\r\nText\r\n",
            "undecodable bytes in the Subject header",
        ),
    ],
    ids=["deep-mime-nesting", "undecodable-header-bytes"],
)
def test_a_message_that_can_never_be_taken_is_refused_permanently_and_kept(
    raw, reason, lmtp, settings
):
    [(code, text)], _ = lmtp.send(raw, [SUPPORT])

    assert code == 550
    assert text.startswith(f"5.6.0 malformed message ({reason}")
    [(_name, record)] = quarantine.entries(settings)
    assert reason in record["reason"]


def test_a_bounce_quoting_bytes_no_database_stores_is_recorded_not_deferred(lmtp, runtime):
    raw = (
        b"From: MAILER-DAEMON\r\nTo: support@support.example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nNicht zugestellt.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; m\xfcller@kunde.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 unknown \x00 user \xff\xfe\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <\xe4\xf6@kunde.example>\r\n"
        b"--B--\r\n"
    )

    [(code, text)], _ = lmtp.send(raw, [SUPPORT], sender="")

    assert (code, text.split(":")[0]) == (250, "2.0.0 bounce")
    with runtime.db.session() as session:
        entry = session.scalars(select(InboundBounce)).one()
    assert (entry.kind, entry.status) == ("failed", "5.1.1")
    assert "\x00" not in entry.diagnostic and entry.diagnostic.startswith("smtp; 550 5.1.1")
    assert entry.raw is not None  # matched nothing: kept
