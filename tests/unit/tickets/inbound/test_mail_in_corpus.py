"""Real bounces and automatic mail from many MTAs are read as what they are (tests/data/mail-in)."""

from __future__ import annotations

import pytest

from tests.corpus import load
from tests.data.mail_in import CorpusMessage, messages
from tickets.inbound.classify import classify
from tickets.inbound.parsing import parse_message

OURS = frozenset({"support@support.example.com"})
CORPUS = messages()
ORIGINAL = "<mailing.7.42@support.example.com>"


def kind_of(raw: bytes, envelope_sender: str | None) -> tuple[str, tuple[str, ...]]:
    verdict = classify(parse_message(raw), OURS, envelope_sender)
    if verdict.kind != "bounce":
        return ("person" if verdict.kind == "person" else "automatic"), ()
    bounce = verdict.bounce
    delayed = tuple(r for r in bounce.recipients if r.action == "delayed")
    kind = "failed" if bounce.failed else "delayed" if delayed else "report"
    named = bounce.failed or delayed
    return kind, tuple(sorted({r.address for r in named if r.address}))


def test_the_corpus_holds_several_hundred_real_messages_mostly_bounces():
    kinds = [message.kind for message in CORPUS]

    assert len(CORPUS) >= 300
    assert kinds.count("failed") + kinds.count("delayed") >= 250


@pytest.mark.parametrize("message", CORPUS, ids=[message.name for message in CORPUS])
def test_a_real_message_is_read_as_what_it_is(message: CorpusMessage):
    assert kind_of(message.raw, message.envelope_sender) == (message.kind, message.recipients)


def test_a_report_without_report_type_and_fields_without_blank_lines_names_both_recipients():
    verdict = classify(
        parse_message(load("gmail_dsn_without_report_type.eml", ORIGINAL_ID=ORIGINAL)), OURS
    )

    assert verdict.kind == "bounce"
    assert [(r.address, r.status, r.severity) for r in verdict.bounce.failed] == [
        ("alt@kunde.example", "5.1.1", "hard"),
        ("zweite@kunde.example", "5.2.2", "soft"),
    ]
    assert ORIGINAL in verdict.bounce.original_message_ids


def test_an_amazon_ses_bounce_notification_is_read_from_its_json():
    mail = parse_message(load("ses_bounce_notification.eml", ORIGINAL_ID=ORIGINAL))

    verdict = classify(mail, OURS, "0100018c-sns@amazonses.com")

    assert (verdict.kind, verdict.bounce.reader) == ("bounce", "ses")
    [failed] = verdict.bounce.failed
    assert (failed.address, failed.status, failed.severity) == (
        "alt@kunde.example",
        "5.1.1",
        "hard",
    )
    assert verdict.bounce.original_message_id == ORIGINAL


def test_an_amazon_ses_complaint_wrapped_by_sns_fails_no_one():
    verdict = classify(parse_message(load("ses_complaint_notification.eml")), OURS)

    assert verdict.kind == "bounce"
    assert verdict.bounce.failed == ()
    assert [r.action for r in verdict.bounce.recipients] == ["complaint"]


@pytest.mark.parametrize("name", ["o365_ndr_no_blank_line.eml", "opensmtpd_bounce.eml"])
def test_office365_and_opensmtpd_bounces_name_the_recipient_and_original(name):
    mail = parse_message(load(name, ORIGINAL_ID=ORIGINAL, VERP="bounce-1-x@support.example.com"))

    verdict = classify(mail, OURS, "")

    assert verdict.kind == "bounce"
    [failed] = verdict.bounce.failed
    assert failed.address == "alt@kunde.example"
    assert failed.status.startswith("5.1.")
    assert verdict.bounce.original_message_id == ORIGINAL


def test_mail_from_postmaster_that_is_no_report_is_a_persons_mail():
    assert classify(parse_message(load("postmaster_ordinary_mail.eml")), OURS).kind == "person"


def test_a_forwarded_bounce_is_a_persons_question():
    raw = (
        b"From: Kunde <kunde@mueller-handel.example>\r\nTo: support@support.example.com\r\n"
        b"Subject: WG: Unzustellbar: Wartungsfenster\r\n\r\nWarum kam das zur\xc3\xbcck?\r\n"
    )

    assert classify(parse_message(raw), OURS, "kunde@mueller-handel.example").kind == "person"


def test_a_postmaster_writing_about_rejected_mail_with_a_550_in_it_is_a_persons_mail():
    raw = (
        b"From: Postmaster <postmaster@mueller-handel.example>\r\n"
        b"To: support@support.example.com\r\nSubject: Your mails are rejected by our server\r\n"
        b"\r\nHallo, unser Server meldet: 550 5.7.1 SPF check failed. Bitte pruefen.\r\n"
    )

    verdict = classify(parse_message(raw), OURS, "postmaster@mueller-handel.example")

    assert verdict.kind == "person"
