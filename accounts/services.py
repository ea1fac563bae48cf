"""Accounts: look-ups, the first contact, search and the audit log.

Contact persons and distribution lists live in ``accounts.people``; users, invitations and
permissions in ``accounts.users``. Every change a customer makes is written to the audit log in
the same transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session, selectinload

from accounts import addresses
from accounts.models import Account, AuditEntry, ContactPerson, DistributionListEntry, User
from helpdesk.errors import ValidationError
from helpdesk.runtime import Runtime

SEARCH_LIMIT = 50


GERMANY = ZoneInfo("Europe/Berlin")


def today_in_germany() -> date:
    """The calendar day license lock dates refer to (the contract system's, in Germany)."""
    return datetime.now(GERMANY).date()


class NotFound(Exception):
    """The thing asked for does not exist (or is not the caller's to see)."""


def record_audit(
    session: Session,
    *,
    account_id: int | None,
    actor: str,
    action: str,
    subject_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the caller's transaction (no account: ops on failed work)."""
    session.add(
        AuditEntry(
            account_id=account_id,
            actor=actor,
            action=action,
            subject_id=subject_id,
            before=before,
            after=after,
        )
    )


def get_account(runtime: Runtime, account_id: int) -> Account:
    with runtime.db.session() as session:
        account = session.scalar(
            select(Account)
            .where(Account.id == account_id)
            .options(selectinload(Account.license_locks), selectinload(Account.products))
        )
        if account is None:
            raise NotFound(f"account {account_id}")
        return account


def account_by_number(runtime: Runtime, customer_number: str) -> Account:
    with runtime.db.session() as session:
        account = session.scalar(
            select(Account)
            .where(Account.customer_number == customer_number.strip())
            .options(selectinload(Account.license_locks), selectinload(Account.products))
        )
        if account is None:
            raise NotFound(f"account {customer_number}")
        return account


def change_first_contact(runtime: Runtime, account_id: int, text: str, actor: str) -> Account:
    """Set the company profile's e-mail address that mandatory mailings go to."""
    try:
        address = addresses.normalise(text)
    except addresses.InvalidAddress as error:
        raise ValidationError({"first_contact": str(error)}) from None
    with runtime.db.session() as session:
        account = session.get(Account, account_id, with_for_update=True)
        if account is None:
            raise NotFound(f"account {account_id}")
        if account.first_contact == address.email:
            return account
        before = {"first_contact": account.first_contact}
        account.first_contact = address.email
        account.first_contact_key = address.key
        record_audit(
            session,
            account_id=account_id,
            actor=actor,
            action="first_contact.changed",
            before=before,
            after={"first_contact": address.email},
        )
        return account


@dataclass(frozen=True)
class AccountMatch:
    account: Account
    matched_on: str  # "customer_number", "company" or the e-mail address that matched


def find_accounts(runtime: Runtime, query: str) -> list[AccountMatch]:
    """Staff search: by customer number, company, or any e-mail address the account holds."""
    text = " ".join(query.split())
    if not text:
        return []
    with runtime.db.session() as session:
        if "@" in text:
            return _find_by_address(session, text.lower())
        pattern = f"%{_escape_like(text.lower())}%"
        accounts = session.scalars(
            select(Account)
            .where(
                or_(
                    Account.customer_number == text,
                    func.lower(Account.company).like(pattern, escape="\\"),
                )
            )
            .order_by(Account.company)
            .limit(SEARCH_LIMIT)
        ).all()
        return [
            AccountMatch(a, "customer_number" if a.customer_number == text else "company")
            for a in accounts
        ]


def _find_by_address(session: Session, key: str) -> list[AccountMatch]:
    sources: Sequence[tuple[Any, Any]] = (
        (Account.id, Account.first_contact_key),
        (ContactPerson.account_id, ContactPerson.email_key),
        (DistributionListEntry.account_id, DistributionListEntry.email_key),
        (User.account_id, User.email_key),
    )
    holders = union_all(
        *(
            select(account_id.label("account_id")).where(key_column == key)
            for account_id, key_column in sources
        )
    ).subquery()
    accounts = session.scalars(
        select(Account)
        .where(Account.id.in_(select(holders.c.account_id)))
        .order_by(Account.company)
        .limit(SEARCH_LIMIT)
    ).all()
    return [AccountMatch(account, key) for account in accounts]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def audit_log(runtime: Runtime, account_id: int, limit: int = 100) -> list[AuditEntry]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.account_id == account_id)
                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                .limit(limit)
            )
        )
