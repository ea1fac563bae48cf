"""Ist diese E-Mail echt?: our signature and record make a mail genuine; another key does not."""

from __future__ import annotations

import dataclasses
import io
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import make_msgid

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.dkimkeys import load_keys
from notifications import dkim_fast
from notifications.mailings import services as mailing_services
from tests.integration.accounts.factories import csrf_token, make_customer, sign_in
from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.notifications.factories import (
    make_account,
    make_mailing,
    without_signatures,
)

SUBJECT = "Wichtige Änderungen an PayPal PLUS"


@pytest.fixture
def genuine_mail(runtime, work, smtp_sink) -> bytes:
    make_account(runtime, first_contact="info@pruefen.example")
    mailing_services.start_sending(
        runtime, make_mailing(runtime, subject=SUBJECT), "ops-a@example.com"
    )
    work()
    return next(m.data for m in smtp_sink.wait_for(1) if m.rcpt_tos == ("info@pruefen.example",))


@pytest.fixture
def forged_mail(genuine_mail, settings, tmp_path) -> bytes:
    """The same mail, same From and selectors, signed with keys that are not ours."""
    foreign = load_keys(dataclasses.replace(settings, dkim_key_dir=tmp_path / "fremd"))
    body = without_signatures(genuine_mail).replace(b"Kundencenter", b"Kundenzentrum")
    return dkim_fast.sign(body, settings.dkim_domain, foreign)


@pytest.fixture
def customer(app, runtime):
    account = make_customer_account(runtime, first_contact="info@kunde-prueft.example")
    client = app.test_client()
    sign_in(client, make_customer(runtime, account).email)
    return client


def _check(client, path, **data):
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, **data}, content_type="multipart/form-data")


def test_portal_judges_the_uploaded_genuine_mail_with_its_date_and_subject(customer, genuine_mail):
    response = _check(customer, "/konto/echtheit", eml=(io.BytesIO(genuine_mail), "mail.eml"))

    page = response.get_data(as_text=True)
    assert "Diese E-Mail ist echt." in page
    assert f"„{SUBJECT}“" in page and "versendet" in page


def test_pasted_headers_of_the_genuine_mail_are_enough(customer, genuine_mail):
    headers = genuine_mail.partition(b"\r\n\r\n")[0].decode().replace("\r\n", "\n")

    page = _check(customer, "/konto/echtheit", headers=headers).get_data(as_text=True)

    assert "Diese E-Mail ist echt." in page


@pytest.mark.parametrize("pasted", [False, True])
def test_a_mail_signed_with_another_key_is_not_from_us(customer, forged_mail, pasted):
    if pasted:
        data = {"headers": forged_mail.partition(b"\r\n\r\n")[0].decode()}
    else:
        data = {"eml": (io.BytesIO(forged_mail), "mail.eml")}

    page = _check(customer, "/konto/echtheit", **data).get_data(as_text=True)

    assert "Diese E-Mail stammt nicht von uns." in page
    assert "echt." not in page


def test_public_page_tells_the_verdict_and_nothing_else(client, genuine_mail):
    page = _check(client, "/echtheit", eml=(io.BytesIO(genuine_mail), "mail.eml"))

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Diese E-Mail ist echt." in html
    assert SUBJECT not in html and "pruefen.example" not in html


@pytest.mark.parametrize("settings", [{"genuine_checks_per_hour": 2}], indirect=True)
def test_public_page_is_rate_limited(client):
    statuses = [_check(client, "/echtheit", headers="From: x@y.example").status_code for _ in "abc"]

    assert statuses == [200, 200, 429]


def _forward(original: bytes, *, attached: bool) -> bytes:
    forward = EmailMessage()
    forward["From"] = "Kundin <kundin@kunde-prueft.example>"
    forward["To"] = "echtheit@support.example.com"
    forward["Subject"] = "WG: Ist das echt?"
    forward["Message-ID"] = make_msgid(domain="kunde-prueft.example")
    if attached:
        forward.set_content("Bitte prüfen Sie die angehängte E-Mail.")
        forward.add_attachment(original, maintype="message", subtype="rfc822")
    else:
        quoted = original.decode("utf-8").replace("\r\n", "\n")
        forward.set_content(
            f"Bitte prüfen.\n\n-------- Weitergeleitete Nachricht --------\n{quoted}"
        )
    return forward.as_bytes()


def _verdict_mail(cli_env, work, smtp_sink, forward: bytes) -> str:
    result = CliRunner().invoke(
        main,
        ["mail-in", "deliver", "--to", "echtheit@support.example.com"],
        input=forward,
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    before = len(smtp_sink.received)
    work()
    [reply] = smtp_sink.wait_for(before + 1)[before:]
    assert reply.rcpt_tos == ("kundin@kunde-prueft.example",)
    message = message_from_bytes(reply.data, policy=default_policy)
    return message.get_body(preferencelist=("plain",)).get_content()


def test_forwarding_a_genuine_mail_as_attachment_to_the_check_address_says_genuine(
    runtime, work, smtp_sink, cli_env, genuine_mail
):
    text = _verdict_mail(cli_env, work, smtp_sink, _forward(genuine_mail, attached=True))

    assert "ist echt" in text and SUBJECT in text


def test_forwarding_a_forged_mail_inline_to_the_check_address_says_not_from_us(
    runtime, work, smtp_sink, cli_env, forged_mail
):
    text = _verdict_mail(cli_env, work, smtp_sink, _forward(forged_mail, attached=False))

    assert "stammt NICHT von uns" in text
