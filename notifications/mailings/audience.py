"""Who receives a mandatory mailing, resolved in set-based SQL and stored as delivery records.

Accounts: all active ones, or those of some editions, of some products (as imported from the
contract system) or with some customer numbers.
Per account: the first contact, every contact person flagged for critical information and the
distribution list of the mailing's purpose. Addresses are compared by the accounts' lower-cased
``*_key`` columns, so one person on three lists is one record (its reason is the first source
in that order). Newsletter settings and licence locks are deliberately not consulted.
Resolution runs one INSERT ... SELECT per range of account ids under the mailing's row lock;
re-running it adds nothing twice (each statement leaves out the pairs the mailing already has,
and the unique constraint stays the guarantee). Not ON CONFLICT DO NOTHING there: its
speculative insertion cost a sixth of the time at 392,000 records (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from accounts.models import Account, AccountProduct, ContactPerson, DistributionListEntry
from helpdesk.db import utcnow
from notifications.mailings.models import Mailing, MailingDelivery

# The distribution list each purpose reaches besides first contact and contact persons.
PURPOSE_LISTS = {
    "outage": "emergency",
    "maintenance": "emergency",
    "data_protection": "data_protection",
}
ACCOUNTS_PER_STATEMENT = 5000
NUMBERS_PER_STATEMENT = 2000


@dataclass(frozen=True)
class Chunk:
    """A statement-sized part of the audience: a condition on accounts, and its id range."""

    accounts: ColumnElement[bool]
    ids: tuple[int, int] | None = None

    def account_ids(self, column: Any) -> ColumnElement[bool]:
        """The range again on another table's ``account_id``: PostgreSQL does not carry a range
        across a join, and without it reads every contact person for every chunk."""
        return column.between(*self.ids) if self.ids else true()


def account_chunks(session: Session, mailing: Mailing) -> Iterator[Chunk]:
    """Conditions selecting the mailing's accounts (active only) a statement-sized part at a time.

    Ranges of account ids for "all", "editions" and "products"; slices of the customer-number
    list for "accounts", so no statement carries more bind parameters than the database accepts.
    """
    active = Account.active.is_(True)
    if mailing.audience_kind == "accounts":
        numbers = sorted(set(mailing.audience_values))
        for start in range(0, len(numbers), NUMBERS_PER_STATEMENT):
            yield Chunk(
                and_(
                    active,
                    Account.customer_number.in_(numbers[start : start + NUMBERS_PER_STATEMENT]),
                )
            )
        return
    condition: ColumnElement[bool] = active
    if mailing.audience_kind == "editions":
        condition = and_(active, Account.edition.in_(mailing.audience_values))
    elif mailing.audience_kind == "products":
        uses_product = exists().where(
            AccountProduct.account_id == Account.id,
            AccountProduct.product.in_(mailing.audience_values),
        )
        condition = and_(active, uses_product)
    low, high = session.execute(
        select(func.min(Account.id), func.max(Account.id)).where(condition)
    ).one()
    if low is None:
        return
    for start in range(low, high + 1, ACCOUNTS_PER_STATEMENT):
        ids = (start, start + ACCOUNTS_PER_STATEMENT - 1)
        yield Chunk(and_(condition, Account.id.between(*ids)), ids)


def count_accounts(session: Session, mailing: Mailing) -> int:
    """How many accounts the audience names (what the four-eyes threshold is compared with)."""
    return sum(
        session.scalar(select(func.count()).select_from(Account).where(chunk.accounts)) or 0
        for chunk in account_chunks(session, mailing)
    )


def count_recipients(session: Session, mailing: Mailing) -> int:
    """How many delivery records resolving the audience would write (one per account and
    address), counted without writing them: what the sender confirms before sending."""
    total = 0
    for chunk in account_chunks(session, mailing):
        source = _sources(mailing, chunk)
        pairs = select(source.c.account_id, source.c.address).distinct().subquery()
        total += session.scalar(select(func.count()).select_from(pairs)) or 0
    return total


def _sources(mailing: Mailing, chunk: Chunk) -> Subquery:
    accounts = chunk.accounts
    first = select(
        Account.id.label("account_id"),
        Account.first_contact_key.label("address"),
        literal(1).label("rank"),
    ).where(accounts, Account.first_contact_key.is_not(None), Account.first_contact_key != "")
    people = (
        select(ContactPerson.account_id, ContactPerson.email_key, literal(2))
        .join(Account, Account.id == ContactPerson.account_id)
        .where(
            accounts,
            chunk.account_ids(ContactPerson.account_id),
            ContactPerson.receives_critical.is_(True),
        )
    )
    parts = [first, people]
    if (purpose_list := PURPOSE_LISTS.get(mailing.purpose)) is not None:
        parts.append(
            select(DistributionListEntry.account_id, DistributionListEntry.email_key, literal(3))
            .join(Account, Account.id == DistributionListEntry.account_id)
            .where(
                accounts,
                chunk.account_ids(DistributionListEntry.account_id),
                DistributionListEntry.purpose == purpose_list,
            )
        )
    return union_all(*parts).subquery("source")


def _resolution(mailing: Mailing, chunk: Chunk, dialect: str) -> Select:
    source = _sources(mailing, chunk)
    rank = func.min(source.c.rank)
    reason = case(
        (rank == 1, "first_contact"),
        (rank == 2, "contact_person"),
        else_=PURPOSE_LISTS.get(mailing.purpose, "contact_person"),
    )
    if dialect == "postgresql":
        domain = func.split_part(source.c.address, "@", 2)
    else:
        domain = func.substr(source.c.address, func.instr(source.c.address, "@") + 1)
    return (
        select(
            literal(mailing.id),
            source.c.account_id,
            source.c.address,
            domain,
            reason,
            Account.company,
            Account.customer_number,
            literal("queued"),
            literal(0),
            literal(utcnow(), MailingDelivery.updated_at.type),
        )
        .join(Account, Account.id == source.c.account_id)
        .where(chunk.accounts)  # the same accounts; lets the join read them by index
        .group_by(source.c.account_id, source.c.address, Account.company, Account.customer_number)
    )


COLUMNS = (
    "mailing_id",
    "account_id",
    "address",
    "domain",
    "reason",
    "company",
    "customer_number",
    "state",
    "attempts",
    "updated_at",
)


def resolve(session: Session, mailing: Mailing) -> int:
    """Write the mailing's delivery records (idempotent); return how many it has in total."""
    dialect = session.get_bind().dialect.name
    # Resolutions of one mailing take turns (SQLite: one writer at a time anyway).
    session.execute(select(Mailing.id).where(Mailing.id == mailing.id).with_for_update())
    for chunk in account_chunks(session, mailing):
        resolution = _resolution(mailing, chunk, dialect)
        source = resolution.selected_columns
        recorded = exists().where(
            MailingDelivery.mailing_id == mailing.id,
            MailingDelivery.account_id == source[1],
            MailingDelivery.address == source[2],
        )
        session.execute(
            insert(MailingDelivery).from_select(list(COLUMNS), resolution.where(~recorded))
        )
    total = session.scalar(select(func.count()).where(MailingDelivery.mailing_id == mailing.id))
    session.execute(
        update(Mailing)
        .where(Mailing.id == mailing.id)
        .values(recipients=total or 0, resolved_at=utcnow())
    )
    return total or 0


def add_for_accounts(session: Session, mailing: Mailing, account_ids: list[int]) -> None:
    """Add records for the current addresses of some accounts (those already there are kept)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    chunk = Chunk(and_(Account.active.is_(True), Account.id.in_(account_ids)))
    session.execute(
        insert(MailingDelivery)
        .from_select(list(COLUMNS), _resolution(mailing, chunk, dialect))
        .on_conflict_do_nothing()
    )
