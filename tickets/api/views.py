"""JSON API for tickets: ``/api/v1/tickets`` (bearer tokens only, see accounts.auth).

Customers (``customer.tickets``) file and read their account's tickets; agents read all and
may file for an account by customer number. Responses never carry sensitive data, only how
many items a ticket holds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, jsonify, request

from helpdesk.labels import allowed
from helpdesk.runtime import current
from helpdesk.security import public, requires
from tickets import listing, search, services, thread
from tickets.access import TicketMerged, TicketNotFound, current_viewer
from tickets.api import openapi
from tickets.handling import find_caller
from tickets.models import Ticket
from tickets.routing import routing_rules

api = Blueprint("tickets_api", __name__, url_prefix="/api/v1")
# "account.view" is held by every customer user and every agent; Viewer.of narrows it to
# customers with customer.tickets and staff with agent.
TICKET_USERS = "account.view"


@api.post("/tickets")
@requires(TICKET_USERS)
def create_ticket() -> Any:
    runtime = current()
    viewer = current_viewer()
    data = request.get_json(silent=True)
    if data is None:
        return _problem(400, "Der Inhalt muss JSON sein (Content-Type: application/json).")
    account_id, requester_id = viewer.account_id, viewer.user_id
    try:
        if viewer.staff:
            requester_id = None
            number = data.get("customer_number") if isinstance(data, dict) else None
            account_id = find_caller(runtime, str(number)).id if number else None
        draft = services.parse_draft(
            data,
            routing_rules(runtime),
            channel="api",
            account_id=account_id,
            requester_id=requester_id,
        )
        services.check_emergency(draft, data.get("emergency_confirmed") is True)
    except services.ValidationError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    ticket = services.file_ticket(runtime, draft, actor=viewer.actor)
    body = {
        **ticket_summary(ticket),
        "routing": {"rule": ticket.routing_rule, "rules_version": ticket.rules_version},
    }
    return jsonify(body), 201, {"Location": f"/api/v1/tickets/{ticket.number}"}


@api.get("/tickets")
@requires(TICKET_USERS)
def list_tickets() -> Any:
    viewer = current_viewer()
    ticket_filter, errors = listing.parse_filter(request.args, viewer, ids=True)
    order = "due" if viewer.staff else "changed"
    order = request.args.get("order") or order
    if order not in listing.ORDERS:
        errors["order"] = f"Erlaubt sind: {allowed('ticket_order', listing.ORDERS)}."
    if errors:
        return _problem(422, "Ungültige Filter.", errors=errors)
    with current().db.session() as session:
        if query := (request.args.get("q") or "").strip():
            ticket_filter = _with_search(session, ticket_filter, query)
        try:
            page = listing.list_tickets(
                session,
                viewer,
                ticket_filter,
                secret=current().settings.secret_key,
                order=order,
                cursor=request.args.get("cursor"),
                limit=listing.page_size(request.args.get("limit")),
            )
        except listing.BadCursor:
            return _problem(422, "Ungültiger Cursor.", errors={"cursor": "Ungültiger Cursor."})
    return jsonify(
        {
            "items": [row_body(row) for row in page.rows],
            "next_cursor": page.next_cursor,
        }
    )


def _with_search(
    session: Any, ticket_filter: listing.TicketFilter, query: str
) -> listing.TicketFilter:
    return replace(ticket_filter, matching=search.matching(session, query))


@api.get("/tickets/<number>")
@requires(TICKET_USERS)
def get_ticket(number: str) -> Any:
    viewer = current_viewer()
    try:
        view = thread.ticket_view(current(), viewer, number)
    except TicketMerged as merged:
        return _merged(number, merged)
    except TicketNotFound:
        return _problem(404, "Dieses Ticket gibt es nicht.")
    ticket = view.ticket
    return jsonify(
        {
            **ticket_summary(ticket),
            "reply_to": ticket.reply_to,
            "product_family": ticket.product_family,
            "component": ticket.component,
            "department": ticket.department,
            "subject": ticket.subject,
            "text": ticket.body,
            "channel": ticket.channel,
            "tags": list(ticket.tags),
            "customer_number": view.customer_number,
            "created_at": ticket.created_at.isoformat(),
            "updated_at": ticket.updated_at.isoformat(),
            "messages": [
                {
                    "kind": message.kind,
                    "author": message.author,
                    "text": message.body,
                    "created_at": message.created_at.isoformat(),
                }
                for message in view.messages
            ],
            "attachments": [
                {
                    "filename": attachment.filename,
                    "content_type": attachment.content_type,
                    "size": attachment.size,
                    "sha256": attachment.sha256,
                }
                for attachment in view.attachments
            ],
            "sensitive_data_items": sum(1 for i in view.sensitive_items if not i.purged),
            "due_times": view.due_times.as_json(),
        }
    )


@api.get("/openapi.json")
@public("the API description; it holds no data")
def openapi_document() -> Any:
    runtime = current()
    return jsonify(openapi.document(runtime.settings.public_url, routing_rules(runtime)))


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "queue": ticket.queue,
        "priority": ticket.effective_priority,
        "requested_priority": ticket.requested_priority,
        "status": ticket.status,
    }


def row_body(row: listing.TicketRow) -> dict[str, Any]:
    return {
        "number": row.number,
        "subject": row.subject,
        "status": row.status,
        "queue": row.queue,
        "priority": row.effective_priority,
        "requested_priority": row.requested_priority,
        "channel": row.channel,
        "product_family": row.product_family,
        "component": row.component,
        "customer_number": row.customer_number,
        "assignee": row.assignee,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _merged(number: str, merged: TicketMerged) -> Any:
    """308 Permanent Redirect to the ticket a merged ticket went into: clients follow it with
    the same method and credentials; the problem body names the target for those that do not."""
    body = {
        "status": 308,
        "detail": f"{number.upper()} wurde mit {merged.target} zusammengeführt.",
        "merged_into": merged.target,
    }
    headers = {
        "Content-Type": "application/problem+json",
        "Location": f"/api/v1/tickets/{merged.target}",
    }
    return jsonify(body), 308, headers


def _problem(status: int, detail: str, **extra: Any) -> Any:
    body = {"status": status, "detail": detail, **extra}
    return jsonify(body), status, {"Content-Type": "application/problem+json"}
