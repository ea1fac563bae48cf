"""Factories for mail-in tests: a mandatory mailing with one delivery record."""

from __future__ import annotations

from helpdesk.runtime import Runtime
from notifications.mailings.models import MailingDelivery
from tests.integration.notifications.factories import make_account, make_mailing


def make_delivery(runtime: Runtime, address: str = "alt@kunde.example") -> tuple[int, int]:
    account = make_account(runtime, first_contact=address)
    mailing_id = make_mailing(runtime)
    with runtime.db.session() as session:
        delivery = MailingDelivery(
            mailing_id=mailing_id,
            account_id=account.id,
            address=address,
            domain=address.rpartition("@")[2],
            reason="first_contact",
            company=account.company,
            customer_number=account.customer_number,
            state="sent",
        )
        session.add(delivery)
        session.flush()
        return mailing_id, delivery.id


def delivery_state(runtime: Runtime, delivery_id: int) -> tuple[str, str | None]:
    with runtime.db.session() as session:
        delivery = session.get(MailingDelivery, delivery_id)
        return delivery.state, delivery.smtp_reply
