"""The bounce repair loop: show hard bounces where they can be fixed, then re-send ("Nachsenden").

A hard bounce is a delivery record that bounce recognition marked ``bounced`` with a 5.x.x
status. The customer sees it on their portal while the address is still one of the account's;
the first contact is told by mail when another address bounced; ops see every account with a
bounced address per mailing. After the address was corrected or replaced, "Nachsenden" adds
records for the account's current addresses that the mailing has not reached yet, each linked
to the bounced record it repairs and threaded as its message. An address that hard-bounced two
mailings is marked undeliverable and the account owner is told once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, aliased

from accounts.models import Account, ContactPerson, DistributionListEntry, User
from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from notifications.mailings import audience, dispatch
from notifications.mailings.models import Mailing, MailingDelivery, UndeliverableAddress
from notifications.mailings.services import GERMANY, MailingNotFound, MailingRefused
from notifications.outbox.models import OutboundMessage
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_mail

log = logging.getLogger(__name__)

UNDELIVERABLE_AFTER = 2  # hard bounces of one address before it is marked on the contact


def hard_bounced() -> ColumnElement[bool]:
    """Records whose recorded bounce status is permanent (5.x.x)."""
    return (MailingDelivery.state == "bounced") & MailingDelivery.smtp_reply.like("5.%")


@dataclass(frozen=True)
class Bounce:
    delivery_id: int
    mailing_id: int
    subject: str
    sent_at: datetime | None
    account_id: int
    customer_number: str
    company: str
    address: str
    status: str
    repaired: bool  # the address is no longer one of the account's
    resent_to: tuple[str, ...]  # addresses the mailing was re-sent to for this bounce


@dataclass(frozen=True)
class Place:
    """Where the customer changes an address: the first contact, a contact person or a list."""

    kind: str  # "first_contact", "contact_person" or "list"
    contact_id: int | None = None
    purpose: str | None = None


def current_addresses(session: Session, account_id: int) -> dict[str, Place]:
    """The account's addresses (lower-cased) and where each one is kept."""
    places: dict[str, Place] = {}
    for key, purpose in session.execute(
        select(DistributionListEntry.email_key, DistributionListEntry.purpose).where(
            DistributionListEntry.account_id == account_id
        )
    ):
        places[key] = Place("list", purpose=purpose)
    for key, contact_id in session.execute(
        select(ContactPerson.email_key, ContactPerson.id).where(
            ContactPerson.account_id == account_id
        )
    ):
        places[key] = Place("contact_person", contact_id=contact_id)
    first = session.scalar(select(Account.first_contact_key).where(Account.id == account_id))
    if first:
        places[first] = Place("first_contact")
    return places


def _bounces(session: Session, *conditions: ColumnElement[bool]) -> list[Bounce]:
    resend = aliased(MailingDelivery)
    rows = session.execute(
        select(
            MailingDelivery.id,
            MailingDelivery.mailing_id,
            Mailing.subject,
            MailingDelivery.sent_at,
            MailingDelivery.account_id,
            MailingDelivery.customer_number,
            MailingDelivery.company,
            MailingDelivery.address,
            MailingDelivery.smtp_reply,
        )
        .join(Mailing, Mailing.id == MailingDelivery.mailing_id)
        .where(hard_bounced(), *conditions)
        .order_by(MailingDelivery.customer_number, MailingDelivery.id)
    ).all()
    resent: dict[int, list[str]] = {}
    if rows:
        for original_id, address in session.execute(
            select(resend.resend_of_id, resend.address).where(
                resend.resend_of_id.in_([row.id for row in rows])
            )
        ):
            if original_id is not None:
                resent.setdefault(original_id, []).append(address)
    addresses: dict[int, dict[str, Place]] = {}
    bounces = []
    for row in rows:
        if row.account_id not in addresses:
            addresses[row.account_id] = current_addresses(session, row.account_id)
        bounces.append(
            Bounce(
                row.id,
                row.mailing_id,
                row.subject,
                row.sent_at,
                row.account_id,
                row.customer_number,
                row.company,
                row.address,
                (row.smtp_reply or "").split(" ", 1)[0],
                row.address not in addresses[row.account_id],
                tuple(resent.get(row.id, ())),
            )
        )
    return bounces


def mailing_bounces(runtime: Runtime, mailing_id: int) -> list[Bounce]:
    """Every hard bounce of one mailing, by account (the ops list)."""
    with runtime.db.reading() as session:
        return _bounces(session, MailingDelivery.mailing_id == mailing_id)


def open_bounces(runtime: Runtime, account_id: int) -> list[tuple[Bounce, Place]]:
    """The account's hard bounces whose address it still has, with where to change it."""
    with runtime.db.reading() as session:
        places = current_addresses(session, account_id)
        return [
            (bounce, places[bounce.address])
            for bounce in _bounces(session, MailingDelivery.account_id == account_id)
            if not bounce.repaired
        ]


def undeliverable(runtime: Runtime, account_id: int) -> set[str]:
    """The account's addresses marked undeliverable (hard-bounced twice or more)."""
    with runtime.db.reading() as session:
        return set(
            session.scalars(
                select(UndeliverableAddress.address).where(
                    UndeliverableAddress.account_id == account_id
                )
            )
        )


def resend(runtime: Runtime, mailing_id: int) -> int:
    """Send the mailing to the repaired addresses of accounts with a hard bounce ("Nachsenden").

    Only addresses the mailing has reached under no account get a record, so nobody receives
    it twice; running it again adds nothing. Returns the number of new records.
    """
    with runtime.db.session() as session:
        mailing = session.get(Mailing, mailing_id, with_for_update=True)
        if mailing is None:
            raise MailingNotFound(mailing_id)
        if mailing.state not in ("sending", "done"):
            raise MailingRefused("Nachsenden geht nur bei einem versendeten Mailing.")
        bounced: dict[int, int] = {}
        for delivery_id, account_id in session.execute(
            select(MailingDelivery.id, MailingDelivery.account_id)
            .where(MailingDelivery.mailing_id == mailing_id, hard_bounced())
            .order_by(MailingDelivery.id)
        ):
            bounced.setdefault(account_id, delivery_id)
        if not bounced:
            return 0
        this_mailing = MailingDelivery.mailing_id == mailing_id
        before = session.scalar(select(func.max(MailingDelivery.id)).where(this_mailing)) or 0
        audience.add_for_accounts(session, mailing, sorted(bounced))
        new = this_mailing & (MailingDelivery.id > before)
        reached = select(MailingDelivery.address).where(this_mailing, MailingDelivery.id <= before)
        session.execute(delete(MailingDelivery).where(new, MailingDelivery.address.in_(reached)))
        for account_id, original_id in bounced.items():
            session.execute(
                update(MailingDelivery)
                .where(new, MailingDelivery.account_id == account_id)
                .values(resend_of_id=original_id)
            )
        added = session.scalar(select(func.count()).where(new)) or 0
        if added:
            mailing.state, mailing.finished_at = "sending", None
            mailing.recipients += added
    if added:
        with runtime.db.session() as session:
            ids = list(
                session.scalars(
                    select(MailingDelivery.id).where(
                        MailingDelivery.mailing_id == mailing_id,
                        MailingDelivery.id > before,
                        MailingDelivery.state == "queued",
                    )
                )
            )
        dispatch.enqueue_batches(runtime, mailing_id, ids)
        log.info("mailing %s: re-sent to %s repaired addresses", mailing_id, added)
    return added


def notice_bounces(runtime: Runtime, now: datetime | None = None) -> int:
    """Tell customers about hard bounces not yet noticed (periodic; each bounce once)."""
    now = now or utcnow()
    settings = runtime.settings
    queued: list[OutboundMessage] = []
    with runtime.db.session() as session:
        rows = session.execute(
            select(
                MailingDelivery.id,
                MailingDelivery.account_id,
                MailingDelivery.address,
                MailingDelivery.sent_at,
                Mailing.subject,
                Account.first_contact,
                Account.first_contact_key,
                Account.company,
            )
            .join(Mailing, Mailing.id == MailingDelivery.mailing_id)
            .join(Account, Account.id == MailingDelivery.account_id)
            .where(hard_bounced(), MailingDelivery.bounce_noticed_at.is_(None))
            .with_for_update(of=MailingDelivery, skip_locked=True)
        ).all()
        for row in rows:
            context = {
                "address": row.address,
                "subject": row.subject,
                "sent_on": _german_date(row.sent_at),
                "company": row.company,
                "profile_url": f"{settings.public_url}/konto",
            }
            if row.first_contact and row.address != row.first_contact_key:
                queued.append(
                    queue_mail(
                        session,
                        MailRequest(
                            kind="mailing_bounce",
                            dedupe_key=f"mailing-bounce-{row.id}",
                            recipient=row.first_contact,
                            subject="Eine Adresse Ihres Kundenkontos nimmt unsere Pflichtmailings "
                            "nicht an",
                            template="mailing_bounce",
                            context=context,
                        ),
                        settings.mail_domain,
                    )
                )
            queued.extend(
                _mark_if_repeated(
                    session, settings.mail_domain, row.account_id, row.address, context
                )
            )
        if rows:
            session.execute(
                update(MailingDelivery)
                .where(MailingDelivery.id.in_([row.id for row in rows]))
                .values(bounce_noticed_at=now)
            )
        session.flush()
        outbound_ids = [outbound.id for outbound in queued]
    enqueue_delivery(runtime, outbound_ids)
    return len(rows)


def _mark_if_repeated(
    session: Session, mail_domain: str, account_id: int, address: str, context: dict[str, str]
) -> list[OutboundMessage]:
    """Mark an address that hard-bounced often enough; tell the account owner the first time."""
    count = session.scalar(
        select(func.count()).where(
            hard_bounced(),
            MailingDelivery.account_id == account_id,
            MailingDelivery.address == address,
        )
    )
    if (count or 0) < UNDELIVERABLE_AFTER:
        return []
    mark = session.scalar(
        select(UndeliverableAddress).where(
            UndeliverableAddress.account_id == account_id,
            UndeliverableAddress.address == address,
        )
    )
    if mark is None:
        mark = UndeliverableAddress(account_id=account_id, address=address)
        session.add(mark)
    mark.hard_bounces = count or 0
    if mark.owner_told_at is not None:
        return []
    owners = session.scalars(
        select(User.email).where(
            User.account_id == account_id, User.owner.is_(True), User.active.is_(True)
        )
    ).all()
    mark.owner_told_at = utcnow()
    session.flush()
    told = []
    for owner in owners:
        told.append(
            queue_mail(
                session,
                MailRequest(
                    kind="mailing_undeliverable",
                    dedupe_key=f"mailing-undeliverable-{mark.id}-{owner.lower()}",
                    recipient=owner,
                    subject="Adresse in Ihrem Kundenkonto mehrfach unzustellbar",
                    template="mailing_undeliverable",
                    context={**context, "bounces": mark.hard_bounces},
                ),
                mail_domain,
            )
        )
    return told


def _german_date(value: datetime | None) -> str:
    return value.astimezone(GERMANY).strftime("%d.%m.%Y") if value else ""
