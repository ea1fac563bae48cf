"""An owner invites a user by e-mail; the link works once; the mail really leaves."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from accounts import invitations
from tests.integration.accounts.factories import csrf_token, make_account, make_customer, sign_in


def test_invited_user_signs_up_once_with_the_mailed_link(app, runtime, work, smtp_sink):
    account = make_account(runtime, company="Einlade GmbH")
    owner = make_customer(runtime, account, owner=True)
    client = app.test_client()
    sign_in(client, owner.email)

    client.post(
        "/konto/benutzer",
        data={
            "csrf_token": csrf_token(client, "/konto/benutzer"),
            "email": "neu@einlade.example",
            "permissions": ["customer.tickets"],
        },
    )
    work("mail")
    [mail] = smtp_sink.wait_for(1)
    message = message_from_bytes(mail.data, policy=policy.SMTP)
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:8000(/einladung/\S+)", text).group(1)

    newcomer = app.test_client()
    form = {
        "csrf_token": csrf_token(newcomer, link),
        "name": "Nina Neu",
        "password": "Ein-gutes-Passwort-9",
        "password_repeat": "Ein-gutes-Passwort-9",
    }
    accepted = newcomer.post(link, data=form)
    reused = app.test_client().get(link)

    assert mail.rcpt_tos == ("neu@einlade.example",)
    assert message["Subject"] == "Einladung in das Kundencenter von Einlade GmbH"
    assert not list(message.iter_attachments())
    assert accepted.status_code == 302
    assert reused.status_code == 404
    assert newcomer.get("/konto").status_code == 200
    assert newcomer.get("/konto/ansprechpartner").status_code == 403
    admin = invitations.administration(runtime, account.id)
    assert sorted(u.email for u in admin.users) == sorted([owner.email, "neu@einlade.example"])
    assert admin.open_invitations == []
