"""A mandatory mailing end to end: resolve, send through the worker, into the SMTP sink."""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy

from sqlalchemy import select

from notifications import mailing_services
from notifications.mailings import MailingDelivery
from tests.dkimcheck import verify_all_signatures
from tests.integration.notifications.factories import make_account, make_mailing


def _parsed(mail):
    return message_from_bytes(mail.data, policy=default_policy)


def test_each_address_gets_exactly_one_signed_mail_without_attachment(
    runtime, work, smtp_sink, settings
):
    make_account(
        runtime,
        first_contact="info@mueller.example",
        critical=("Chef@Mueller.example", "INFO@mueller.example"),
        others=("marketing@mueller.example",),
        emergency=("admin@mueller.example", "chef@mueller.example"),
    )
    make_account(runtime, first_contact="info@schmidt.example")
    mailing_id = make_mailing(runtime, purpose="outage")

    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()

    received = smtp_sink.wait_for(4)
    recipients = Counter(rcpt for mail in received for rcpt in mail.rcpt_tos)
    assert recipients == Counter(
        {
            "info@mueller.example": 1,
            "chef@mueller.example": 1,
            "admin@mueller.example": 1,
            "info@schmidt.example": 1,
        }
    )
    for mail in received:
        assert sorted(verify_all_signatures(mail.data, settings)) == [
            b"ed25519-sha256",
            b"rsa-sha256",
        ]
        message = _parsed(mail)
        assert all(part.get_content_maintype() == "text" for part in message.walk()
                   if not part.is_multipart())
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"].endswith("@support.example.com>")
        assert mail.mail_from.startswith("bounce-")
    with runtime.db.session() as session:
        states = session.scalars(select(MailingDelivery.state)).all()
    assert states == ["sent"] * 4
    assert mailing_services.progress(runtime, mailing_id).finished
