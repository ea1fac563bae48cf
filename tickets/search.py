"""Finding tickets by number, customer number, e-mail address or words of subject and text.

Words use the database's full-text search: PostgreSQL's German configuration (stemming, so
"Rechnungen" finds "Rechnung") over a stored ``search_document`` column with a GIN index, or
SQLite FTS5 (an external-content table kept in step by triggers) on the embedded default.
The migrations ``tickets full-text search`` and ``tickets: indexes for lists, search and
reports at scale`` create them; ``is_search_object`` keeps them and the other hand-written
indexes (docs/performance.md) out of model comparisons.

The search is one condition on ``tickets``, an OR of parts each served by its own index:
the customer number and the e-mail address are looked up first, so that every part compares
a ticket column with constants. PostgreSQL then either combines the parts' index scans
(a rare word, a number) or walks the list's order index and checks each ticket until a page
is full (a word in every fifth ticket); a sub-select of ids, or a join in the OR, would make
it read the whole table instead.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from accounts.models import Account, User
from tickets.models import Ticket, parse_number

FTS_TABLE = "tickets_fts"
# A generated column on PostgreSQL: to_tsvector('german', subject || ' ' || body), stored.
PG_DOCUMENT = "tickets.search_document"
PG_INDEX = "ix_tickets_fulltext"
# Made by the migration "tickets: indexes for lists, search and reports at scale": expression
# and partial indexes that models cannot describe (docs/performance.md).
HAND_WRITTEN_INDEXES = frozenset(
    {
        PG_INDEX,
        "ix_tickets_open_queue_due",
        "ix_tickets_open_due",
        "ix_tickets_queue_due",
        "ix_tickets_due",
        "ix_tickets_reply_to_lower",
        "ix_tickets_tags",  # migration "saved views ...; ticket lists by tag and by number"
    }
)
WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12


def is_search_object(name: str | None, type_: str) -> bool:
    """True for the objects models do not describe (FTS5 tables, expression indexes, the
    stored search document)."""
    if type_ == "column":
        return name == PG_DOCUMENT.split(".")[1]
    return bool(name) and (name in HAND_WRITTEN_INDEXES or str(name).startswith(FTS_TABLE))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: compare everything except the full-text objects."""
    return not (reflected and compare_to is None and is_search_object(name, type_))


def matching(session: Session, query: str) -> ColumnElement[bool]:
    """A condition on ``tickets`` true for the tickets ``query`` finds in any supported way."""
    # NUL means nothing in a search, and PostgreSQL refuses it in any text parameter.
    query = " ".join(query.replace("\x00", " ").split())[:200]
    conditions: list[ColumnElement[bool]] = []
    ticket_id = parse_number(query)
    if ticket_id is not None:
        conditions.append(Ticket.id == ticket_id)
    if "@" in query and " " not in query:
        key = query.lower()
        conditions.append(func.lower(Ticket.reply_to) == key)
        users = session.scalars(select(User.id).where(User.email_key == key)).all()
        if users:
            conditions.append(Ticket.requester_id.in_(users))
    if " " not in query:
        accounts = session.scalars(select(Account.id).where(Account.customer_number == query)).all()
        if accounts:
            conditions.append(Ticket.account_id.in_(accounts))
    words = WORD.findall(query)[:MAX_WORDS]
    if words:
        conditions.append(_word_matches(session, words))
    return or_(*conditions) if conditions else false()


def _word_matches(session: Session, words: list[str]) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        matches = text(f"{PG_DOCUMENT} @@ plainto_tsquery('german', :words)")
        return type_coerce(matches.bindparams(words=" ".join(words)), Boolean)
    # Every word must occur; each is quoted, so FTS5 operators in the input mean nothing.
    match = " ".join('"' + word.replace('"', '""') + '"*' for word in words)
    fts = table(FTS_TABLE, column("rowid"))
    return Ticket.id.in_(select(fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(match)))
