"""Saved views: an agent keeps the console list's filter and order under a name of their own.

A view belongs to one agent: every function takes the viewer and finds only that agent's
views, so another agent's view is as unknown as one that never existed (404 at the door).
What is stored is the console's query string, reduced to the keys the list understands and
checked the way the list checks them, so opening a view never shows a refused filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import ValidationError
from helpdesk.runtime import Runtime
from helpdesk.text import header_text_problem
from tickets import listing
from tickets.access import Viewer
from tickets.models import SavedView

NAME_MAX = 80
QUERY_MAX = 1000
VIEWS_MAX = 50
# The console list's query keys, in the order a stored query names them.
LIST_KEYS = ("q", "queue", "status", "priority", "channel", "assignee", "tag", "sort")


class ViewNotFound(LookupError):
    """No view with this id belongs to the agent."""


def view_query(query: str, viewer: Viewer, orders: Mapping[str, str]) -> str:
    """``query`` (a console query string) reduced to the list's keys, in a fixed order.

    ``orders`` are the console's sort keys; a value the list would refuse raises
    ValidationError on ``query``.
    """
    given = dict(parse_qsl(query))
    kept = {key: given[key].strip() for key in LIST_KEYS if given.get(key, "").strip()}
    _filter, errors = listing.parse_filter(kept, viewer)
    if kept.get("sort", "due") not in orders:
        errors["sort"] = "Unbekannte Sortierung."
    if errors:
        raise ValidationError({"query": "Diese Ansicht enthält einen ungültigen Filter."})
    text = urlencode(kept)
    if len(text) > QUERY_MAX:
        raise ValidationError({"query": "Diese Ansicht ist zu lang zum Speichern."})
    return text


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Bitte geben Sie einen Namen an."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Höchstens {NAME_MAX} Zeichen."})
    if problem := header_text_problem(name):
        raise ValidationError({"name": problem})
    return name


def _taken() -> ValidationError:
    return ValidationError({"name": "Sie haben schon eine Ansicht mit diesem Namen."})


def views_of(runtime: Runtime, viewer: Viewer) -> list[SavedView]:
    """The agent's views, by name."""
    with runtime.db.reading() as session:
        return list(
            session.scalars(
                select(SavedView)
                .where(SavedView.user_id == viewer.user_id)
                .order_by(func.lower(SavedView.name), SavedView.id)
            )
        )


def save(
    runtime: Runtime, viewer: Viewer, name: str, query: str, orders: Mapping[str, str]
) -> SavedView:
    """Keep the list ``query`` under ``name`` for the agent."""
    name = _name(name)
    query = view_query(query, viewer, orders)
    with runtime.db.session() as session:
        count = session.scalar(
            select(func.count()).select_from(SavedView).where(SavedView.user_id == viewer.user_id)
        )
        if (count or 0) >= VIEWS_MAX:
            raise ValidationError({"name": f"Höchstens {VIEWS_MAX} Ansichten je Person."})
        view = SavedView(user_id=viewer.user_id, name=name, query=query)
        session.add(view)
        try:
            session.flush()
        except IntegrityError:
            raise _taken() from None
        return view


def find(runtime: Runtime, viewer: Viewer, view_id: int) -> SavedView:
    """The agent's view ``view_id``; ViewNotFound when it is not theirs or does not exist."""
    with runtime.db.reading() as session:
        view = session.get(SavedView, view_id)
        if view is None or view.user_id != viewer.user_id:
            raise ViewNotFound(view_id)
        return view


def rename(runtime: Runtime, viewer: Viewer, view_id: int, name: str) -> None:
    name = _name(name)
    with runtime.db.session() as session:
        view = session.get(SavedView, view_id)
        if view is None or view.user_id != viewer.user_id:
            raise ViewNotFound(view_id)
        view.name = name
        try:
            session.flush()
        except IntegrityError:
            raise _taken() from None


def delete(runtime: Runtime, viewer: Viewer, view_id: int) -> None:
    with runtime.db.session() as session:
        view = session.get(SavedView, view_id)
        if view is None or view.user_id != viewer.user_id:
            raise ViewNotFound(view_id)
        session.delete(view)
