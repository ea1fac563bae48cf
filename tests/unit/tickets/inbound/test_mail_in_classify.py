"""Automatic mail, loops and bounces are told apart from people writing."""

from __future__ import annotations

from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus import load
from tickets.inbound.classify import classify
from tickets.inbound.parsing import parse_message
from tickets.inbound.threading import ticket_number_in

OURS = frozenset({"support@support.example.com", "buchhaltung@jtl-software.de"})
ORIGINAL = "<mailing.3.17@support.example.com>"


def verdict(name: str, envelope_sender: str | None = None, **values: str):
    return classify(parse_message(load(name, **values)), OURS, envelope_sender)


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("outlook_new_request_de.eml", "person", ""),
        ("out_of_office_de.eml", "automatic", "Auto-Submitted: auto-replied"),
        ("autoreply_header_only.eml", "automatic", "X-Autoreply header"),
        ("out_of_office_subject_only.eml", "automatic", "out-of-office subject"),
        ("precedence_bulk_newsletter.eml", "automatic", "Precedence: bulk"),
        ("loop_from_ourselves.eml", "loop", "sent from our own address"),
        ("read_receipt.eml", "receipt", "report of type disposition-notification"),
    ],
)
def test_corpus_mail_is_classified(name, kind, reason):
    result = verdict(name)

    assert (result.kind, result.reason[: len(reason)]) == (kind, reason)


def test_null_envelope_sender_is_automatic():
    assert verdict("outlook_new_request_de.eml", envelope_sender="").kind == "automatic"


def test_rfc_3464_report_names_recipient_status_diagnostic_and_original_id():
    result = verdict(
        "dsn_mailing_bounce.eml", VERP="bounce-1-x@support.example.com", ORIGINAL_ID=ORIGINAL
    )

    assert result.kind == "bounce"
    assert result.bounce.original_message_id == ORIGINAL
    [recipient] = result.bounce.failed
    assert recipient.address == "alt@kunde.example"
    assert recipient.status == "5.1.1"
    assert recipient.diagnostic.startswith("smtp; 550 5.1.1 <alt@kunde.example>: Recipient")


def test_original_id_is_read_from_an_attached_message_too():
    result = verdict("dsn_ticket_mail_bounce.eml", ORIGINAL_ID=ORIGINAL)

    assert result.bounce.original_message_id == ORIGINAL
    assert result.bounce.failed[0].status == "5.1.10"


def test_a_delay_report_has_no_failure():
    result = verdict("dsn_delayed.eml")

    assert result.kind == "bounce"
    assert result.bounce.failed == ()


def test_a_qmail_bounce_without_report_is_read_from_its_text():
    result = verdict("plain_bounce_qmail.eml", ORIGINAL_ID=ORIGINAL)

    assert result.kind == "bounce"
    assert result.bounce.original_message_id == ORIGINAL
    assert result.bounce.failed[0].status == "5.1.1"


@pytest.mark.parametrize("header", ["auto-generated", "auto-replied", "auto-notified"])
def test_any_auto_submitted_value_but_no_is_automatic(header):
    message = EmailMessage(policy=SMTP)
    message["From"] = "kunde@example.com"
    message["Subject"] = "Frage"
    message["Auto-Submitted"] = header
    message.set_content("Text")

    assert classify(parse_message(message.as_bytes()), OURS).kind == "automatic"


PREFIXES = st.lists(
    st.sampled_from(["AW:", "WG:", "Re:", "RE:", "Fwd:", "FW:", "Antw:", "[EXTERN]", "R:"]),
    max_size=5,
)


@given(PREFIXES, st.integers(min_value=1, max_value=999_999), st.text(max_size=30))
def test_ticket_number_is_found_behind_any_client_prefixes(prefixes, number, rest):
    subject = " ".join([*prefixes, f"[HD-{number:06d}]", rest.replace("HD-", "")])

    assert ticket_number_in(subject) == number


@given(st.text(max_size=60).filter(lambda s: "hd-" not in s.lower()))
def test_subjects_without_a_number_name_no_ticket(subject):
    assert ticket_number_in(subject) is None


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=80,
    ).filter(lambda s: s.strip()),
    st.sampled_from(["utf-8", "iso-8859-1", "windows-1252"]),
)
def test_encoded_word_subjects_decode_to_what_was_sent(subject, charset):
    try:
        subject.encode(charset)
    except UnicodeEncodeError:
        charset = "utf-8"
    encoded = Header(subject, charset=charset).encode()
    raw = f"From: k@example.com\r\nSubject: {encoded}\r\n\r\nText\r\n".encode("ascii")

    assert parse_message(raw).subject == " ".join(subject.split())
