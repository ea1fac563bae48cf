"""Who really sent it: SPF, DKIM and DMARC against a real DNS server, through the pipe door."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import dkim
import nacl.signing
import pytest
from sqlalchemy import select

from notifications.outbox.models import OutboundMessage
from tests.integration.accounts.factories import make_staff, sign_in
from tests.integration.inbound.dns_server import Zone, dns_server
from tests.integration.notifications.factories import make_account
from tickets.inbound.models import SenderCheckRecord
from tickets.models import Ticket, TicketEvent, TicketMessage

SUPPORT = "support@support.example.com"
CUSTOMER = "chef@kunde.example"
CLIENT_IP = "198.51.100.7"  # the customer's mail server
FORGER_IP = "203.0.113.66"
SELECTOR = "mail2026"


@pytest.fixture
def dns() -> Iterator[tuple[Zone, str]]:
    with dns_server() as served:
        yield served


@pytest.fixture
def signing_key(dns) -> nacl.signing.SigningKey:
    """kunde.example publishes an Ed25519 DKIM key and SPF for its mail server."""
    zone, _ = dns
    key = nacl.signing.SigningKey.generate()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    zone.txt(f"{SELECTOR}._domainkey.kunde.example", f"v=DKIM1; k=ed25519; p={public}")
    zone.txt("kunde.example", f"v=spf1 ip4:{CLIENT_IP} -all")
    return key


@pytest.fixture
def checked(deliver, dns) -> Callable[..., object]:
    """`helpdesk mail-in deliver` with MAIL_IN_SENDER_CHECK=dns against the test's server."""
    _zone, resolver = dns

    def run(raw: bytes, sender: str = CUSTOMER):
        return deliver(
            raw,
            "--to",
            SUPPORT,
            "--from",
            sender,
            env={"MAIL_IN_SENDER_CHECK": "dns", "MAIL_IN_DNS_RESOLVER": resolver},
        )

    return run


def message(
    *,
    from_address: str = CUSTOMER,
    client_ip: str = CLIENT_IP,
    subject: str = "Frage zur Lizenz",
    message_id: str = "<m1@kunde.example>",
    extra: str = "",
) -> bytes:
    return (
        f"Received: from mail.kunde.example (mail.kunde.example [{client_ip}])\r\n"
        "\tby mx.support.example.com (Postfix) with ESMTPS id 4Xy;"
        " Mon, 4 May 2026 10:00:01 +0200\r\n"
        f"From: Chef <{from_address}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Mon, 4 May 2026 10:00:00 +0200\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Bitte um Rückruf.\r\n"
    ).encode()


def signed(raw: bytes, key: nacl.signing.SigningKey, domain: str = "kunde.example") -> bytes:
    headers, _, body = raw.partition(b"\r\n\r\n")
    received, _, rest = headers.partition(b"\r\nFrom:")
    unsigned = b"From:" + rest + b"\r\n\r\n" + body
    signature = dkim.sign(
        unsigned,
        SELECTOR.encode(),
        domain.encode(),
        base64.b64encode(bytes(key)),
        signature_algorithm=b"ed25519-sha256",
        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"],
    )
    return received + b"\r\n" + signature + unsigned


def stored_check(runtime) -> SenderCheckRecord:
    with runtime.db.session() as session:
        return session.scalars(select(SenderCheckRecord)).one()


def test_a_dkim_signed_mail_passes_dmarc_and_the_verdict_is_stored(
    checked, dns, signing_key, runtime
):
    zone, _ = dns
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=reject")

    result = checked(
        signed(message(client_ip=FORGER_IP), signing_key), sender="bounce@elsewhere.example"
    )

    assert result.outcome["action"] == "created"
    check = stored_check(runtime)
    assert (check.dkim, check.dkim_domains, check.dmarc, check.dmarc_policy) == (
        "pass",
        ["kunde.example"],
        "pass",
        "reject",
    )
    assert check.unverified is False


def test_an_aligned_spf_pass_without_signature_passes_dmarc(checked, dns, signing_key, runtime):
    zone, _ = dns
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=quarantine")

    checked(message())

    assert ("_dmarc.kunde.example", "TXT") in zone.queries  # asked the configured resolver
    check = stored_check(runtime)
    assert (check.spf, check.spf_domain, check.dkim, check.dmarc) == (
        "pass",
        "kunde.example",
        "none",
        "pass",
    )


@pytest.mark.parametrize(
    ("spf", "dmarc", "expected"),
    [
        (f"v=spf1 ip4:{CLIENT_IP} -all", "v=DMARC1; p=reject", ("fail", "fail", "reject")),
        (
            f"v=spf1 ip4:{CLIENT_IP} ~all",
            "v=DMARC1; p=quarantine",
            ("softfail", "fail", "quarantine"),
        ),
        (f"v=spf1 ip4:{CLIENT_IP} -all", "v=DMARC1; p=none", ("fail", "fail", "none")),
        (None, "v=DMARC1; p=reject", ("none", "fail", "reject")),
        (f"v=spf1 ip4:{CLIENT_IP} -all", None, ("fail", "none", None)),
    ],
    ids=["spf-fail-reject", "softfail-quarantine", "fail-policy-none", "no-spf", "no-dmarc"],
)
def test_a_forged_from_is_judged_by_spf_and_the_published_policy(
    spf, dmarc, expected, checked, dns, runtime
):
    zone, _ = dns
    if spf:
        zone.txt("kunde.example", spf)
    if dmarc:
        zone.txt("_dmarc.kunde.example", dmarc)

    checked(message(client_ip=FORGER_IP))

    check = stored_check(runtime)
    assert (check.spf, check.dmarc, check.dmarc_policy) == expected
    assert check.unverified is (expected[1] == "fail")


def test_a_dns_failure_while_checking_a_signature_is_no_verdict_of_forgery(
    checked, dns, signing_key, runtime
):
    zone, _ = dns
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=reject")
    zone.failing.add(f"{SELECTOR}._domainkey.kunde.example")

    result = checked(signed(message(client_ip=FORGER_IP), signing_key))

    check = stored_check(runtime)
    assert (check.spf, check.dkim, check.dmarc) == ("fail", "temperror", "temperror")
    assert check.unverified is False
    assert "unverified" not in result.outcome["reason"]


def test_a_subdomain_without_its_own_record_gets_the_organisations_subdomain_policy(
    checked, dns, runtime
):
    zone, _ = dns
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=none; sp=reject")

    checked(message(from_address="shop@filiale.kunde.example", client_ip=FORGER_IP))

    check = stored_check(runtime)
    assert (check.from_domain, check.dmarc, check.dmarc_policy) == (
        "filiale.kunde.example",
        "fail",
        "reject",
    )


def test_a_forged_from_cannot_join_the_customers_ticket_nor_take_its_account(
    checked, dns, signing_key, runtime, work, smtp_sink
):
    zone, _ = dns
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=reject")
    account = make_account(runtime, first_contact=CUSTOMER)
    genuine = checked(signed(message(), signing_key))
    with runtime.db.session() as session:
        acknowledgement = session.scalars(select(OutboundMessage.message_id)).one()

    forged = checked(
        message(
            client_ip=FORGER_IP,
            subject=f"AW: [{genuine.outcome['ticket']}] Frage zur Lizenz",
            message_id="<forged@evil.example>",
            extra=f"In-Reply-To: {acknowledgement}\r\nReferences: {acknowledgement}\r\n",
        )
    )

    assert genuine.outcome["ticket"] == "HD-000001"
    assert forged.outcome["action"] == "created"
    assert forged.outcome["ticket"] == "HD-000002"
    assert "unverified sender" in forged.outcome["reason"]
    with runtime.db.session() as session:
        first, second = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert first.account_id == account.id
        assert second.account_id is None
        assert "unverified-sender" in second.tags
        messages = session.scalars(
            select(TicketMessage.message_id).where(TicketMessage.ticket_id == first.id)
        ).all()
        assert messages == ["<m1@kunde.example>"]
        created = session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == second.id, TicketEvent.action == "created"
            )
        ).one()
        assert created.changes["sender_check"][1].startswith("unverified: DMARC fail (p=reject)")
    work()
    assert [mail.rcpt_tos for mail in smtp_sink.wait_for(1)] == [(CUSTOMER,)]


def test_the_trusted_mtas_authentication_results_decide_and_others_are_ignored(deliver, runtime):
    raw = message(
        client_ip=FORGER_IP,
        extra=(
            "Authentication-Results: mx.support.example.com; spf=fail "
            "smtp.mailfrom=chef@kunde.example; dkim=none; "
            "dmarc=fail (p=reject dis=none) header.from=kunde.example\r\n"
            "Authentication-Results: forged.example; dmarc=pass header.from=kunde.example\r\n"
        ),
    )

    result = deliver(
        raw,
        "--to",
        SUPPORT,
        env={
            "MAIL_IN_SENDER_CHECK": "trusted",
            "MAIL_IN_TRUSTED_AUTHSERV_ID": "mx.support.example.com",
        },
    )

    assert "unverified sender" in result.outcome["reason"]
    check = stored_check(runtime)
    assert (check.method, check.spf, check.dmarc, check.dmarc_policy) == (
        "trusted",
        "fail",
        "fail",
        "reject",
    )


def test_the_agent_sees_the_verdict_and_the_unverified_sender_on_the_ticket_page(
    checked, dns, app, runtime
):
    zone, _ = dns
    zone.txt("kunde.example", f"v=spf1 ip4:{CLIENT_IP} -all")
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=reject")
    result = checked(message(client_ip=FORGER_IP))
    with runtime.db.session() as session:
        queue = session.scalars(select(Ticket.queue)).one()
    agent = make_staff(runtime, "agent", queues=(queue,))
    client = app.test_client()
    sign_in(client, agent.email)

    page = client.get(f"/konsole/tickets/{result.outcome['ticket']}").get_data(as_text=True)

    assert "Absender nicht verifiziert, mit keinem Konto verknüpft: kunde.example" in page
    assert "DMARC nicht bestanden (Richtlinie: abweisen)" in page
    assert "SPF nicht bestanden für kunde.example · DKIM nicht vorhanden" in page


def test_a_received_header_naming_no_real_address_and_a_garbled_signature_still_file_the_mail(
    checked, dns, runtime
):
    zone, _ = dns
    zone.txt("_dmarc.kunde.example", "v=DMARC1; p=reject")
    raw = message(
        client_ip="999.1.1.1", extra="DKIM-Signature: v=1; a=rsa-sha256; d=kunde.example; b=%%%\r\n"
    )

    result = checked(raw)

    assert result.exit_code == 0 and result.outcome["action"] == "created"
    check = stored_check(runtime)
    assert (check.spf, check.dkim, check.dmarc) == ("none", "fail", "fail")
