"""The console's counters and ticket list, refreshed in the open page (``static/live.js``).

An unchanged list answers 304 after the one lookup its ETag costs (``lists.list_etag``),
never running the list's queries.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from helpdesk import live
from helpdesk.runtime import current
from helpdesk.security import requires
from tickets.access import current_viewer
from tickets.console import lists

blueprint = Blueprint("console_live", __name__, url_prefix="/konsole")


@blueprint.get("/aktuell")
@requires("agent")
def ticket_list() -> Any:
    """Counters, rows and the next-page link of ``/konsole`` with the same filter."""
    viewer = current_viewer(staff_only=True)
    with current().db.reading() as session:
        etag = lists.list_etag(session, viewer, request.args)
        unchanged = live.not_modified(etag)
        if unchanged is not None:
            return unchanged
        context = lists.list_context(session, viewer, request.args)
    html = render_template("tickets/_console_live.html", **context, args=request.args)
    return live.fragment(html, etag)
