"""The console's counters and ticket list, refreshed in the open page (``static/live.js``).

The fragment's ETag is made of what can change what it shows: the newest history entry
(every change to a ticket writes one, filing included), the current minute (due times turn
overdue, relative due times move), the viewer, the filter and the rules version (queue
names). An unchanged list costs one primary-key lookup and a 304, never the list's queries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from helpdesk import live
from helpdesk.runtime import current
from helpdesk.security import requires
from tickets.access import current_viewer
from tickets.console.views import list_context
from tickets.models import TicketEvent
from tickets.routing import routing_rules

blueprint = Blueprint("console_live", __name__, url_prefix="/konsole")


@blueprint.get("/aktuell")
@requires("agent")
def ticket_list() -> Any:
    """Counters, rows and the next-page link of ``/konsole`` with the same filter."""
    viewer = current_viewer(staff_only=True)
    runtime = current()
    with runtime.db.reading() as session:
        newest_event = session.scalar(select(func.max(TicketEvent.id)))
        etag = live.etag_of(
            newest_event,
            datetime.now(UTC).strftime("%Y%m%d%H%M"),
            viewer.actor,
            "*" if viewer.queues is None else sorted(viewer.queues),
            request.query_string.decode(),
            routing_rules(runtime).version,
        )
        unchanged = live.not_modified(etag)
        if unchanged is not None:
            return unchanged
        context = list_context(session, viewer, request.args)
    html = render_template("tickets/_console_live.html", **context, args=request.args)
    return live.fragment(html, etag)
