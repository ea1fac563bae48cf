"""Ticket lists: filters, keyset (cursor) pagination and queue counts, each in one statement.

A list page costs the same number of statements whatever its length: the rows come with the
account and assignee columns joined in, never loaded ticket by ticket. Pagination is by cursor
over the sort key (no OFFSET), so a page deep in a queue is as cheap as the first. Cursors are
signed with the secret key: a cursor this service did not make never reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from accounts.models import Account, User
from helpdesk.db import UTCDateTime
from helpdesk.labels import allowed
from helpdesk.text import parse_id
from tickets.access import Viewer
from tickets.models import OPEN_STATUSES, Ticket, format_number
from tickets.tags import has_tag, normal_tag, tag_problem
from vocabulary import CHANNELS, PRIORITIES, STATUSES

PAGE_SIZE = 25
PAGE_MAX = 100
# Tickets a search checks in list order before it asks the indexes for its hits instead.
SEARCH_WINDOW = 2000
# Search hits named in one statement at most (PostgreSQL takes 65,535 bound parameters).
SEARCH_IDS_MAX = 20_000


class BadCursor(ValueError):
    """The cursor was not made by this service, or for another order."""


@dataclass(frozen=True)
class SortKey:
    name: str
    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    decode: Callable[[Any], Any]


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


PRIORITY_RANK = case(
    {priority: rank for rank, priority in enumerate(reversed(PRIORITIES))},
    value=Ticket.effective_priority,
)
# Tickets without an SLA due time sort after every ticket that has one.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
# What is due first (the SLA clock's next due time), then priority, then age.
DUE_FIRST: tuple[SortKey, ...] = (
    SortKey(
        "due", func.coalesce(Ticket.sla_next_due_at, literal(FAR_FUTURE, UTCDateTime)), _instant
    ),
    SortKey("rank", PRIORITY_RANK, int),
    SortKey("created", Ticket.created_at, _instant),
    SortKey("id", Ticket.id, int),
)
# The customer's list: what changed last comes first (descending).
LAST_CHANGED: tuple[SortKey, ...] = (
    SortKey("updated", Ticket.updated_at, _instant),
    SortKey("id", Ticket.id, int),
)
# The console's sortable columns: newest first, most urgent priority first.
NEWEST: tuple[SortKey, ...] = (
    SortKey("created", Ticket.created_at, _instant),
    SortKey("id", Ticket.id, int),
)
PRIORITY_FIRST: tuple[SortKey, ...] = (DUE_FIRST[1], DUE_FIRST[0], *DUE_FIRST[2:])
# The customer's sortable columns: by number (newest first), by subject (A to Z).
BY_NUMBER: tuple[SortKey, ...] = (SortKey("id", Ticket.id, int),)
BY_SUBJECT: tuple[SortKey, ...] = (SortKey("subject", Ticket.subject, str), BY_NUMBER[0])
ORDERS = {
    "due": (DUE_FIRST, False),
    "changed": (LAST_CHANGED, True),
    "created": (NEWEST, True),
    "priority": (PRIORITY_FIRST, False),
    "number": (BY_NUMBER, True),
    "subject": (BY_SUBJECT, False),
}


@dataclass(frozen=True)
class TicketFilter:
    queue: str | None = None
    statuses: tuple[str, ...] = OPEN_STATUSES
    priority: str | None = None
    channel: str | None = None
    assignee: str | None = None  # "me", "none" or a user id
    customer_number: str | None = None
    tag: str | None = None  # in normal form (tickets.tags)
    matching: ColumnElement[bool] | None = field(default=None, compare=False)  # search hits


@dataclass(frozen=True)
class TicketRow:
    """One line of a list: only what lists show (never text, never sensitive data)."""

    id: int
    number: str
    subject: str
    status: str
    queue: str
    effective_priority: str
    requested_priority: str
    channel: str
    product_family: str
    component: str
    reply_to: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    customer_number: str | None
    company: str | None
    assignee: str | None
    assignee_id: int | None
    sla_due_at: datetime | None = None  # the SLA clock's next due time (tickets.sla.clock)
    sla_breached: bool = False


@dataclass(frozen=True)
class Page:
    rows: list[TicketRow]
    next_cursor: str | None


def parse_filter(
    args: Any, viewer: Viewer, *, ids: bool = False
) -> tuple[TicketFilter, dict[str, str]]:
    """A filter from query arguments; unknown values are reported per field (German), naming
    what is allowed by label, and with the ids a caller sends when ``ids`` (the JSON API)."""
    errors: dict[str, str] = {}

    def choice(name: str, values: Sequence[str]) -> str | None:
        value = (args.get(name) or "").strip()
        if value and value not in values:
            errors[name] = f"Erlaubt sind: {allowed(name, values, ids=ids)}."
            return None
        return value or None

    status = (args.get("status") or "").strip()
    if status in ("", "offen"):
        statuses: tuple[str, ...] = OPEN_STATUSES
    elif status == "alle":
        statuses = STATUSES
    elif status in STATUSES:
        statuses = (status,)
    else:
        shown = allowed("status", ids=ids)
        errors["status"] = (
            f"Erlaubt sind: offen, alle, {shown}." if ids else f"Erlaubt sind: {shown}."
        )
        statuses = OPEN_STATUSES
    assignee = (args.get("assignee") or "").strip() or None
    if assignee not in (None, "me", "none") and parse_id(assignee or "") is None:
        errors["assignee"] = (
            "Erlaubt sind: me (eigene), none (niemandem zugewiesen) oder eine Benutzer-ID."
            if ids
            else "Unbekannte Zuweisung."
        )
        assignee = None
    queue = (args.get("queue") or "").strip() or None
    if queue is not None and len(queue) > 60:
        errors["queue"] = "Unbekannte Queue."
        queue = None
    number = (args.get("customer_number") or "").strip() or None
    tag = normal_tag(args.get("tag") or "") or None
    if tag is not None and (problem := tag_problem(tag)):
        errors["tag"] = problem
        tag = None
    return (
        TicketFilter(
            queue=queue,
            statuses=statuses,
            priority=choice("priority", PRIORITIES),
            channel=choice("channel", CHANNELS),
            assignee=assignee,
            customer_number=number if viewer.staff else None,
            tag=tag if viewer.staff else None,
        ),
        errors,
    )


def page_size(value: Any) -> int:
    try:
        size = int(value or PAGE_SIZE)
    except (TypeError, ValueError):
        return PAGE_SIZE
    return max(1, min(size, PAGE_MAX))


def list_tickets(
    session: Session,
    viewer: Viewer,
    ticket_filter: TicketFilter,
    *,
    secret: str,
    order: str = "due",
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    search_window: int = SEARCH_WINDOW,
    search_ids_max: int = SEARCH_IDS_MAX,
) -> Page:
    """One page of the viewer's tickets after ``cursor``; ``secret`` signs and checks cursors."""
    keys, descending = ORDERS[order]
    conditions = [viewer.readable(), *_conditions(viewer, ticket_filter)]
    if cursor:
        values = decode_cursor(cursor, keys, order, secret)
        position = tuple_(*(key.expression for key in keys))
        bound = tuple_(
            *(
                bindparam(f"cursor_{key.name}", value, type_=key.expression.type)
                for key, value in zip(keys, values, strict=True)
            )
        )
        conditions.append(position < bound if descending else position > bound)
        # Implied by the row comparison, but PostgreSQL estimates rows from this one: alone,
        # the comparison past "no due time" looks empty and gets a plan for no rows.
        first = keys[0].expression
        first_bound = bound.clauses[0]
        conditions.append(first <= first_bound if descending else first >= first_bound)
    ordering = [key.expression.desc() if descending else key.expression for key in keys]
    if ticket_filter.matching is not None:
        conditions.append(
            _search_hits(
                session,
                conditions,
                ticket_filter.matching,
                ordering,
                limit,
                search_window,
                search_ids_max,
            )
        )
    # The page's tickets first, from tickets alone, then what the rows show joined to those
    # few: joined before the limit, a misestimate can make PostgreSQL join every ticket.
    page = (
        select(Ticket.id, *(key.expression.label(f"sort_{key.name}") for key in keys))
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit + 1)
        .subquery("page")
    )
    assignee = aliased(User)
    sort_columns = [page.c[f"sort_{key.name}"] for key in keys]
    statement = (
        select(
            Ticket.id,
            Ticket.subject,
            Ticket.status,
            Ticket.queue,
            Ticket.effective_priority,
            Ticket.requested_priority,
            Ticket.channel,
            Ticket.product_family,
            Ticket.component,
            Ticket.reply_to,
            Ticket.tags,
            Ticket.created_at,
            Ticket.updated_at,
            Account.customer_number,
            Account.company,
            assignee.name.label("assignee"),
            Ticket.assignee_id,
            Ticket.sla_next_due_at,
            (
                Ticket.first_response_breached
                | Ticket.next_response_breached
                | Ticket.resolution_breached
            ).label("sla_breached"),
            *sort_columns,
        )
        .join(page, page.c.id == Ticket.id)
        .outerjoin(Account, Account.id == Ticket.account_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .order_by(*(column.desc() if descending else column for column in sort_columns))
    )
    rows = session.execute(statement).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(
            [getattr(last, f"sort_{key.name}") for key in keys], order, secret
        )
    return Page([_row(row) for row in rows], next_cursor)


def _search_hits(
    session: Session,
    conditions: list[ColumnElement[bool]],
    matching: ColumnElement[bool],
    ordering: list[ColumnElement[Any] | InstrumentedAttribute[Any]],
    limit: int,
    search_window: int,
    search_ids_max: int,
) -> ColumnElement[bool]:
    """The search hits of this page and after it, as a condition on ticket ids.

    Two steps, because no single plan is fast for both kinds of query: a common word is found
    by checking the next ``search_window`` tickets of the list in order (a page fills within
    them), a rare word or a number through its indexes (few hits, sorted afterwards). Asked
    in one statement, PostgreSQL guesses between the two and, guessing wrong, checks every
    ticket one by one (seconds at a million).
    """
    window = session.execute(
        select(Ticket.id, matching.label("hit"))
        .where(*conditions)
        .order_by(*ordering)
        .limit(search_window)
    ).all()
    hits = [row.id for row in window if row.hit]
    if len(hits) > limit or len(window) < search_window:
        return Ticket.id.in_(hits)
    everywhere = select(Ticket.id).where(*conditions, matching)
    hits = list(session.scalars(everywhere.limit(search_ids_max + 1)))
    if len(hits) <= search_ids_max:
        return Ticket.id.in_(hits)
    # Too many to name (databases cap bound parameters); frequent enough that PostgreSQL
    # walks the list's order and fills the page early.
    return Ticket.id.in_(everywhere)


def _conditions(viewer: Viewer, f: TicketFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Ticket.status.in_(f.statuses)]
    if f.queue:
        conditions.append(Ticket.queue == f.queue)
    if f.priority:
        conditions.append(Ticket.effective_priority == f.priority)
    if f.channel:
        conditions.append(Ticket.channel == f.channel)
    if f.assignee == "me":
        conditions.append(Ticket.assignee_id == viewer.user_id)
    elif f.assignee == "none":
        conditions.append(Ticket.assignee_id.is_(None))
    elif f.assignee:
        conditions.append(Ticket.assignee_id == int(f.assignee))
    if f.customer_number:
        # A sub-select PostgreSQL runs once, so the account's tickets come by index.
        account = select(Account.id).where(Account.customer_number == f.customer_number)
        conditions.append(Ticket.account_id == account.scalar_subquery())
    if f.tag:
        conditions.append(has_tag(f.tag))
    return conditions


def _row(row: Any) -> TicketRow:
    return TicketRow(
        id=row.id,
        number=format_number(row.id),
        subject=row.subject,
        status=row.status,
        queue=row.queue,
        effective_priority=row.effective_priority,
        requested_priority=row.requested_priority,
        channel=row.channel,
        product_family=row.product_family,
        component=row.component,
        reply_to=row.reply_to,
        tags=list(row.tags or ()),
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer_number=row.customer_number,
        company=row.company,
        assignee=row.assignee,
        assignee_id=row.assignee_id,
        sla_due_at=row.sla_next_due_at,
        sla_breached=bool(row.sla_breached),
    )


def encode_cursor(values: Sequence[Any], order: str, secret: str) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    payload = _base64(json.dumps([order, plain], separators=(",", ":")).encode())
    return f"{payload}.{_cursor_tag(payload, secret)}"


def decode_cursor(cursor: str, keys: Sequence[SortKey], order: str, secret: str) -> list[Any]:
    """The sort-key values of a cursor this service made for ``order``; BadCursor otherwise."""
    payload, _, tag = cursor.rpartition(".")
    try:
        if not hmac.compare_digest(tag.encode(), _cursor_tag(payload, secret).encode()):
            raise BadCursor("cursor not made by this service")
        made_for, values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if made_for != order or len(values) != len(keys):
            raise BadCursor("cursor for another order")
        return [key.decode(value) for key, value in zip(keys, values, strict=True)]
    except (binascii.Error, ValueError, TypeError) as error:
        raise BadCursor(str(error)) from None


def _cursor_tag(payload: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"ticket-cursor:{payload}".encode(), hashlib.sha256)
    return _base64(digest.digest()[:16])


def _base64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class QueueCount:
    queue: str
    name: str
    by_priority: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_priority.values())


def queue_counts(
    session: Session, queues: Sequence[tuple[str, str]], viewer: Viewer
) -> list[QueueCount]:
    """Open tickets per queue and priority for the queues ``(id, name)`` the viewer works."""
    visible = [(queue_id, name) for queue_id, name in queues if viewer.works(queue_id)]
    counts: dict[str, dict[str, int]] = {queue_id: {} for queue_id, _ in visible}
    rows = session.execute(
        select(Ticket.queue, Ticket.effective_priority, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.queue.in_(list(counts)))
        .group_by(Ticket.queue, Ticket.effective_priority)
    )
    for queue_id, priority, count in rows:
        counts[queue_id][priority] = count
    return [
        QueueCount(queue_id, name, {p: counts[queue_id].get(p, 0) for p in reversed(PRIORITIES)})
        for queue_id, name in visible
    ]
