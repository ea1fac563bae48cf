"""Small factories for ticket tests: accounts, users and tickets filed through the service."""

from __future__ import annotations

from itertools import count
from typing import Any

from accounts.models import Account, User
from helpdesk.runtime import Runtime
from tickets.services import TicketDraft, file_ticket

_sequence = count(1)

LOCKED_ACCESS = {
    "reply_to": "buchhaltung@mueller-handel.example",
    "product_family": "JTL-Kundenkonto",
    "component": "Fragen zu Firmendaten/Kundenkonto",
    "subject": "Zugang gesperrt",
    "text": "Unsere Lizenz ist gesperrt.",
    "priority": "normal",
}


def make_account(runtime: Runtime, **values: Any) -> int:
    n = next(_sequence)
    with runtime.db.session() as session:
        account = Account(
            customer_number=values.pop("customer_number", f"K{100000 + n}"),
            company=values.pop("company", f"Müller Handel {n} GmbH"),
            **values,
        )
        session.add(account)
        session.flush()
        return account.id


def make_user(
    runtime: Runtime,
    *,
    account_id: int | None = None,
    permissions: tuple[str, ...] = ("customer.tickets", "customer.email_history"),
    roles: tuple[str, ...] = (),
    queues: tuple[str, ...] = (),
    email: str | None = None,
) -> int:
    n = next(_sequence)
    with runtime.db.session() as session:
        user = User(
            email=email or f"user{n}@example.com",
            email_key=(email or f"user{n}@example.com").lower(),
            name=f"Person {n}",
            password_hash="!",  # cannot sign in with a password
            kind="customer" if account_id is not None else "staff",
            account_id=account_id,
            permissions=list(permissions),
            roles=list(roles),
            queues=list(queues),
        )
        session.add(user)
        session.flush()
        return user.id


def make_ticket(runtime: Runtime, **values: Any) -> int:
    fields = {**LOCKED_ACCESS, **values}
    draft = TicketDraft(
        reply_to=fields["reply_to"],
        product_family=fields["product_family"],
        component=fields["component"],
        subject=fields["subject"],
        text=fields["text"],
        priority=fields["priority"],
        channel=fields.get("channel", "web"),
    )
    return file_ticket(runtime, draft, actor="test").id


def api_token(runtime: Runtime, user_id: int, scopes: tuple[str, ...]) -> str:
    """A bearer token for ``user_id`` issued through the accounts service."""
    from accounts.tokens import issue

    _token, plain = issue(runtime, user_id, f"test token {next(_sequence)}", scopes)
    return plain


def customer_token(runtime: Runtime, account_id: int | None = None) -> str:
    account_id = account_id or make_account(runtime)
    user_id = make_user(runtime, account_id=account_id, permissions=("customer.tickets",))
    return api_token(runtime, user_id, ("customer.tickets",))


def agent_token(runtime: Runtime, queues: tuple[str, ...] = ("accounting",)) -> str:
    user_id = make_user(runtime, roles=("agent",), queues=queues, permissions=())
    return api_token(runtime, user_id, ("agent",))
