"""Finding tickets by number, customer number, e-mail address or words of subject and text.

Words use the database's full-text search: PostgreSQL's German configuration (stemming, so
"Rechnungen" finds "Rechnung") over an expression index, or SQLite FTS5 (an external-content
table kept in step by triggers) on the embedded default. Both are created by the migration
``tickets full-text search``; ``is_search_object`` keeps them out of model comparisons.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, column, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from accounts.models import Account, User
from tickets.models import Ticket, parse_number

FTS_TABLE = "tickets_fts"
PG_DOCUMENT = "to_tsvector('german', coalesce(subject, '') || ' ' || coalesce(body, ''))"
PG_INDEX = "ix_tickets_fulltext"
WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12


def is_search_object(name: str | None, type_: str) -> bool:
    """True for the full-text objects models do not describe (FTS5 tables, the GIN index)."""
    return bool(name) and (name == PG_INDEX or str(name).startswith(FTS_TABLE))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: compare everything except the full-text objects."""
    return not (reflected and compare_to is None and is_search_object(name, type_))


def matching_ids(session: Session, query: str) -> Select[Any]:
    """A sub-select of ticket ids matching ``query`` in any of the supported ways."""
    query = " ".join(query.split())[:200]
    conditions = []
    ticket_id = parse_number(query)
    if ticket_id is not None:
        conditions.append(Ticket.id == ticket_id)
    if "@" in query and " " not in query:
        key = query.lower()
        users = select(User.id).where(User.email_key == key)
        conditions.append(or_(func.lower(Ticket.reply_to) == key, Ticket.requester_id.in_(users)))
    if " " not in query:
        accounts = select(Account.id).where(Account.customer_number == query)
        conditions.append(Ticket.account_id.in_(accounts))
    words = WORD.findall(query)[:MAX_WORDS]
    if words:
        conditions.append(Ticket.id.in_(_word_matches(session, words)))
    if not conditions:
        return select(Ticket.id).where(Ticket.id.is_(None))
    return select(Ticket.id).where(or_(*conditions))


def _word_matches(session: Session, words: list[str]) -> Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return select(Ticket.id).where(
            text(f"{PG_DOCUMENT} @@ plainto_tsquery('german', :words)").bindparams(
                words=" ".join(words)
            )
        )
    # Every word must occur; each is quoted, so FTS5 operators in the input mean nothing.
    match = " ".join('"' + word.replace('"', '""') + '"*' for word in words)
    fts = table(FTS_TABLE, column("rowid"))
    return select(fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(match))
