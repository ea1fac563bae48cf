"""What the console's counters and ticket list show for a filter, and the ETag that says
when that may have changed; the page and its live refresh (``tickets/console/live.py``)
both use them.

The ETag is made of what can change what the list shows: the newest history entry (every
change to a ticket writes one, filing included), the current minute (due times turn
overdue), the viewer and their queues, the filter and the rules version (queue names). It
costs one primary-key lookup, whatever the number of tickets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import abort
from sqlalchemy import func, select

from helpdesk import live
from helpdesk.labels import labels
from helpdesk.runtime import current
from tickets import listing, search
from tickets.access import Viewer
from tickets.models import TicketEvent
from tickets.routing import routing_rules
from vocabulary import STATUSES


def queue_choices() -> list[tuple[str, str]]:
    """The queues as (id, name), in the rules file's order."""
    rules = routing_rules(current())
    return [(queue.id, queue.name) for queue in rules.queues]


SORT_LABELS = labels("console_sort")


def list_context(session: Any, viewer: Viewer, args: Any) -> dict[str, Any]:
    """What the console's counters and ticket list show for these filter ``args``; the page
    and its live refresh (``tickets/console/live.py``) render the same."""
    ticket_filter, errors = listing.parse_filter(args, viewer)
    query = (args.get("q") or "").strip()
    order = args.get("sort") or "due"
    if order not in SORT_LABELS:
        errors["sort"] = f"Erlaubt sind: {', '.join(SORT_LABELS.values())}."
        order = "due"
    counts = listing.queue_counts(session, queue_choices(), viewer)
    if query:
        ticket_filter = replace(
            ticket_filter, statuses=STATUSES, matching=search.matching(session, query)
        )
    try:
        page = listing.list_tickets(
            session,
            viewer,
            ticket_filter,
            secret=current().settings.secret_key,
            order=order,
            cursor=args.get("cursor"),
        )
    except listing.BadCursor:
        abort(400)
    return {
        "counts": counts,
        "page": page,
        "errors": errors,
        "order": order,
        "queue_names": dict(queue_choices()),
    }


def list_etag(session: Any, viewer: Viewer, args: Any) -> str:
    """The ETag of the list ``list_context`` shows for ``args``; cheap, see the module."""
    return live.etag_of(
        session.scalar(select(func.max(TicketEvent.id))),
        datetime.now(UTC).strftime("%Y%m%d%H%M"),
        viewer.actor,
        "*" if viewer.queues is None else sorted(viewer.queues),
        sorted(args.items(multi=True)),
        routing_rules(current()).version,
    )
