"""Every mail template, text and HTML, as the service fills it: German words, working links."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid
from pprint import pformat
from urllib.parse import urlsplit

from sqlalchemy import select

from accounts import invitations, password_resets, staff_admin, staff_invitations, users
from notifications import rendering
from notifications.mailings import bounces, genuine, repair
from notifications.mailings import services as mailings
from notifications.mailings.models import MailingDelivery
from notifications.outbox.models import OutboundMessage
from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.accounts.factories import make_contact, make_customer
from tests.integration.notifications.factories import make_mailing
from tests.integration.pages.visible import raw_words, read_html
from tests.integration.tickets.factories import make_ticket
from tickets import agent_alerts
from tickets.models import Ticket
from tickets.sla import escalation
from tickets.sla.models import SlaEscalation

TEXT_LINK = re.compile(r"https?://[^\s<>\"')]+")


def _rendered_mails(runtime, work, smtp_sink) -> list[tuple[str, str, str]]:
    """(template, text, html) of each mail the service queued, filled as the service fills it."""
    owner = users.user_by_email(runtime, "kunde@mueller-handel.example")
    invitations.invite(
        runtime,
        account_id=owner.account_id,
        email="neu@mueller-handel.example",
        permissions=("customer.tickets",),
        inviter=owner,
    )
    password_resets.request_reset(runtime, "technik@mueller-handel.example")
    admin = users.create_staff_user(
        runtime,
        email="chefin@support.example.com",
        password="Ein-gutes-Passwort-9",
        roles=["admin"],
    )
    staff_invitations.invite_staff(
        runtime,
        email="neu@support.example.com",
        name="Nora Neu",
        roles=("agent",),
        queues=("accounting",),
        queue_names={"accounting": "Buchhaltung"},
        require_totp=True,
        inviter=admin,
    )
    for member in staff_admin.staff_members(runtime):
        agent_alerts.choose(runtime, member.id, ("new_ticket",), member.email)
    make_ticket(runtime, product_family="JTL-Wawi", component="JTL-Wawi", subject="Abgleich")
    genuine_mail = _bounce_twice(runtime, work, smtp_sink)
    _ask_whether_genuine(runtime, genuine_mail)
    mails = []
    with runtime.db.reading() as session:
        for message in session.scalars(select(OutboundMessage)):
            mails.append((message.template, *rendering.render(message.template, message.context)))
        for row in session.scalars(select(SlaEscalation)):
            ticket = session.get(Ticket, row.ticket_id)
            template = "sla_page" if row.step == "page" else f"sla_{row.step.split('_')[0]}"
            template = {"sla_warn": "sla_warning"}.get(template, template)
            kind = row.step.split("_", 1)[1] if row.step != "page" else "first_response"
            context = escalation.mail_context(runtime, ticket, row, kind)
            mails.append((template, *rendering.render(template, context)))
    preview = mailings.preview(runtime, 1)
    mails.append(("mandatory_mailing", preview.text, preview.html))
    return mails


def _bounce_twice(runtime, work, smtp_sink) -> bytes:
    """Two mandatory mailings a contact's address refuses: its first contact hears of each
    bounce (mailing_bounce), the owner that the address is now undeliverable. Returns a mail
    as sent, signed, for the genuineness check."""
    account = make_customer_account(
        runtime, company="Kaputt GmbH", first_contact="info@kaputt.example"
    )
    make_customer(runtime, account, owner=True, email="chefin@kaputt.example")
    make_contact(runtime, account, email="tippfehler@kaputt.example", receives_critical=True)
    for subject in ("Erstes Pflichtmailing", "Zweites Pflichtmailing"):
        mailing_id = make_mailing(runtime, subject=subject)
        mailings.start_sending(runtime, mailing_id, "ops-a@example.com")
        work()
        with runtime.db.session() as session:
            delivery_id = session.scalar(
                select(MailingDelivery.id).where(
                    MailingDelivery.mailing_id == mailing_id,
                    MailingDelivery.address == "tippfehler@kaputt.example",
                )
            )
            assert bounces.record_bounce(
                session, delivery_id=delivery_id, status="5.1.1", diagnostic="user unknown"
            )
        repair.notice_bounces(runtime)
    return next(m.data for m in smtp_sink.received if m.rcpt_tos == ("info@kaputt.example",))


def _ask_whether_genuine(runtime, genuine_mail: bytes) -> None:
    """A forward without the mail, one with our mail and one with a mail we never signed."""
    unsigned = EmailMessage()
    unsigned["From"] = "support@support.example.com"
    unsigned["Subject"] = "Ihr Konto wird gesperrt"
    unsigned.set_content("Bitte bestätigen Sie Ihre Zugangsdaten.")
    for number, original in enumerate((None, genuine_mail, unsigned.as_bytes())):
        forward = EmailMessage()
        forward["From"] = f"kundin{number}@kunde-prueft.example"
        forward["To"] = "echtheit@support.example.com"
        forward["Subject"] = "WG: Ist das echt?"
        forward["Message-ID"] = make_msgid(domain="kunde-prueft.example")
        forward.set_content("Bitte prüfen Sie die angehängte E-Mail.")
        if original is not None:
            forward.add_attachment(original, maintype="message", subtype="rfc822")
        genuine.answer_forwarded(runtime, forward.as_bytes())


def test_every_mail_speaks_german_and_links_only_to_pages_that_exist(
    app, runtime, demo, work, smtp_sink
):
    mails = _rendered_mails(runtime, work, smtp_sink)
    templates = {path.stem for path in rendering.MAIL_TEMPLATES.glob("*.txt")}
    client = app.test_client()
    findings, broken = {}, {}

    for name, text, html in mails:
        html_text, html_links = read_html(html)
        words = raw_words(text) | raw_words(html_text)
        if words:
            findings.setdefault(name, set()).update(words)
        for link in {*TEXT_LINK.findall(text), *html_links}:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or parts.netloc != "127.0.0.1:8000":
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            status = client.get(path).status_code
            if status == 404 or status >= 500:
                broken.setdefault(name, []).append((link, status))

    assert {name for name, _, _ in mails} == templates
    verdicts = {text for name, text, _ in mails if name == "genuine_check"}
    assert len(verdicts) == 3, "not found, genuine and not from us: each verdict is checked"
    assert findings == {}, pformat(findings)
    assert broken == {}, pformat(broken)
