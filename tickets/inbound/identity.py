"""Who wrote: the sender's address matched to an account, in one query.

An address can be known as a user's sign-in, an account's first contact, a contact person or
an entry of a distribution list. The strongest kind of match decides (a user outranks the
first contact, which outranks a contact person, which outranks a list entry); when the
strongest matches point at different accounts the sender stays unassigned for triage, and an
agent sets the account later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from accounts.models import Account, ContactPerson, DistributionListEntry, User

RANKS = ("user", "first_contact", "contact_person", "distribution_list")


@dataclass(frozen=True)
class Sender:
    """What is known about a sender; ``account_id`` None means unknown or ambiguous."""

    address_key: str
    account_id: int | None = None
    user_id: int | None = None
    via: str | None = None
    candidates: tuple[int, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.account_id is None and len(self.candidates) > 1


# Built once: building the union and its cache key cost more than running it.
_address_key = bindparam("address_key", type_=String)
_matches = union_all(
    select(User.account_id, User.id, literal("user").label("via")).where(
        User.email_key == _address_key,
        User.kind == "customer",
        User.active.is_(True),
    ),
    select(Account.id, literal(None).label("user_id"), literal("first_contact")).where(
        Account.first_contact_key == _address_key
    ),
    select(ContactPerson.account_id, literal(None), literal("contact_person")).where(
        ContactPerson.email_key == _address_key
    ),
    select(DistributionListEntry.account_id, literal(None), literal("distribution_list")).where(
        DistributionListEntry.email_key == _address_key
    ),
).subquery()
MATCHES = select(_matches.c[0], _matches.c[1], _matches.c[2]).join(
    Account, (Account.id == _matches.c[0]) & Account.active.is_(True)
)


def identify(session: Session, address_key: str) -> Sender:
    """Match ``address_key`` (lower-cased normalised address) against every kind of contact."""
    rows = list(session.execute(MATCHES, {"address_key": address_key}))
    if not rows:
        return Sender(address_key)
    best = min(RANKS.index(via) for _account, _user, via in rows)
    strongest = [row for row in rows if RANKS.index(row[2]) == best]
    accounts = sorted({row[0] for row in strongest})
    if len(accounts) > 1:
        return Sender(address_key, via=RANKS[best], candidates=tuple(accounts))
    account_id, user_id, via = strongest[0]
    return Sender(
        address_key, account_id=account_id, user_id=user_id, via=via, candidates=(account_id,)
    )
