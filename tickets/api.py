"""JSON API for tickets: ``/api/v1/tickets``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from helpdesk.security import current_principal, public
from tickets import services

api = Blueprint("tickets_api", __name__, url_prefix="/api/v1/tickets")


@api.post("")
@public("walking-skeleton intake; the accounts issue puts it behind customer sign-in and tokens")
def create_ticket() -> Any:
    runtime = current_app.extensions["runtime"]
    data = request.get_json(silent=True)
    if data is None:
        return _problem(400, "Der Inhalt muss JSON sein (Content-Type: application/json).")
    try:
        draft = services.parse_draft(data, services.routing_rules(runtime), channel="api")
    except services.ValidationError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    ticket = services.file_ticket(runtime, draft, actor=current_principal().id)
    body = {
        "number": ticket.number,
        "queue": ticket.queue,
        "priority": ticket.effective_priority,
        "requested_priority": ticket.requested_priority,
        "status": ticket.status,
        "routing": {"rule": ticket.routing_rule, "rules_version": ticket.rules_version},
    }
    return jsonify(body), 201, {"Location": f"/api/v1/tickets/{ticket.number}"}


def _problem(status: int, detail: str, **extra: Any) -> Any:
    body = {"status": status, "detail": detail, **extra}
    return jsonify(body), status, {"Content-Type": "application/problem+json"}
