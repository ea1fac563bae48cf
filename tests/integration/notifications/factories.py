"""Factories for mailing tests: accounts with contact persons and distribution lists."""

from __future__ import annotations

from itertools import count

from accounts.models import Account, AccountProduct, ContactPerson, DistributionListEntry
from helpdesk.runtime import Runtime
from notifications.mailings import services as mailing_services
from notifications.mailings.composing import MailingDraft

_sequence = count(1)

BODY = """Sehr geehrte Damen und Herren,

bitte aktualisieren Sie den **Deutsche Fiskal Connector** bis zum 01.08.22.
Die neue Version finden Sie im [Kundencenter](http://127.0.0.1:8000/downloads/fiskal).
"""


def make_account(
    runtime: Runtime,
    *,
    first_contact: str | None = None,
    critical: tuple[str, ...] = (),
    others: tuple[str, ...] = (),
    emergency: tuple[str, ...] = (),
    data_protection: tuple[str, ...] = (),
    edition: str = "start",
    products: tuple[str, ...] = (),
    company: str | None = None,
) -> Account:
    n = next(_sequence)
    with runtime.db.session() as session:
        account = Account(
            customer_number=f"K{200000 + n}",
            company=company or f"Müller & Söhne {n} GmbH",
            edition=edition,
            first_contact=first_contact,
            first_contact_key=first_contact.lower() if first_contact else None,
            products=[AccountProduct(product=product) for product in products],
        )
        session.add(account)
        session.flush()
        for email in critical + others:
            session.add(
                ContactPerson(
                    account_id=account.id,
                    first_name="Erika",
                    last_name=f"Muster {email}",
                    email=email,
                    email_key=email.lower(),
                    receives_critical=email in critical,
                    newsletter_channels=[],
                )
            )
        for purpose, addresses in (("emergency", emergency), ("data_protection", data_protection)):
            for email in addresses:
                session.add(
                    DistributionListEntry(
                        account_id=account.id, purpose=purpose, email=email, email_key=email.lower()
                    )
                )
    return account


def draft(**values: object) -> MailingDraft:
    fields: dict[str, object] = {
        "product_family": "JTL-Wawi",
        "purpose": "security",
        "subject": "DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22",
        "body": BODY,
    }
    fields.update(values)
    return MailingDraft(**fields)  # type: ignore[arg-type]


def make_mailing(runtime: Runtime, actor: str = "ops-a@example.com", **values: object) -> int:
    return mailing_services.create_mailing(runtime, draft(**values), actor).id


def without_signatures(raw: bytes) -> bytes:
    """The message as sent with its DKIM-Signature fields (and their folded lines) left out."""
    head, _, body = raw.partition(b"\r\n\r\n")
    fields, keep = [], True
    for line in head.split(b"\r\n"):
        if line[:1] not in (b" ", b"\t"):
            keep = not line.lower().startswith(b"dkim-signature:")
        if keep:
            fields.append(line)
    return b"\r\n".join(fields) + b"\r\n\r\n" + body
