"""Every mail template, text and HTML, as the service fills it: German words, working links."""

from __future__ import annotations

import re
from pprint import pformat
from urllib.parse import urlsplit

from sqlalchemy import select

from accounts import invitations, password_resets, staff_admin, staff_invitations, users
from notifications import rendering
from notifications.mailings import services as mailings
from notifications.outbox.models import OutboundMessage
from tests.integration.pages.visible import raw_words, read_html
from tests.integration.tickets.factories import make_ticket
from tickets import agent_alerts
from tickets.models import Ticket
from tickets.sla import escalation
from tickets.sla.models import SlaEscalation

# Templates whose flows (bounce reports, genuineness check) came with the mailing pages after
# this test was written; each needs its own arrange step here before it can leave this set.
NOT_YET_RENDERED = {"mailing_bounce", "mailing_undeliverable", "genuine_check"}
TEXT_LINK = re.compile(r"https?://[^\s<>\"')]+")


def _rendered_mails(runtime) -> dict[str, tuple[str, str]]:
    """(text, html) of each template, filled as the service fills it."""
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
    mails = {}
    with runtime.db.reading() as session:
        for message in session.scalars(select(OutboundMessage)):
            mails[message.template] = rendering.render(message.template, message.context)
        for row in session.scalars(select(SlaEscalation)):
            ticket = session.get(Ticket, row.ticket_id)
            template = "sla_page" if row.step == "page" else f"sla_{row.step.split('_')[0]}"
            template = {"sla_warn": "sla_warning"}.get(template, template)
            kind = row.step.split("_", 1)[1] if row.step != "page" else "first_response"
            context = escalation.mail_context(runtime, ticket, row, kind)
            mails[template] = rendering.render(template, context)
    preview = mailings.preview(runtime, 1)
    mails["mandatory_mailing"] = (preview.text, preview.html)
    return mails


def test_every_mail_speaks_german_and_links_only_to_pages_that_exist(app, runtime, demo):
    mails = _rendered_mails(runtime)
    templates = {path.stem for path in rendering.MAIL_TEMPLATES.glob("*.txt")}
    client = app.test_client()
    findings, broken = {}, {}

    for name, (text, html) in mails.items():
        html_text, html_links = read_html(html)
        words = raw_words(text) | raw_words(html_text)
        if words:
            findings[name] = words
        for link in {*TEXT_LINK.findall(text), *html_links}:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or parts.netloc != "127.0.0.1:8000":
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            status = client.get(path).status_code
            if status == 404 or status >= 500:
                broken.setdefault(name, []).append((link, status))

    assert set(mails) == templates - NOT_YET_RENDERED
    assert findings == {}, pformat(findings)
    assert broken == {}, pformat(broken)
