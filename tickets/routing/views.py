"""JSON doors to routing: the catalog for the ticket form, and explain for agents."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from helpdesk.labels import allowed
from helpdesk.runtime import current
from helpdesk.security import public, requires
from tickets.routing.facts import TicketFacts
from tickets.routing.live import routing_rules
from vocabulary import CHANNELS

blueprint = Blueprint("routing_api", __name__, url_prefix="/api/v1")

TEXT_FIELDS = (
    "product_family",
    "component",
    "department",
    "subject",
    "body",
    "mailbox",
    "edition",
    "support_level",
)
TEXT_MAX = 50_000


@blueprint.get("/catalog")
@public("the ticket form's product catalog: product families, departments, priorities")
def catalog() -> Any:
    rules = routing_rules(current())
    response = jsonify(rules.catalog_dict())
    response.set_etag(rules.version)
    response.cache_control.public = True
    response.cache_control.max_age = 60
    return response.make_conditional(request)


@blueprint.post("/routes/explain")
@requires("agent")
def explain() -> Any:
    rules = routing_rules(current())
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _problem(400, "Der Inhalt muss ein JSON-Objekt sein.")
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for name in set(data) - {*TEXT_FIELDS, "priority", "channel", "license_locked"}:
        errors[name] = "Unbekanntes Feld."
    for name in TEXT_FIELDS:
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > TEXT_MAX):
            errors[name] = f"Erwartet wird ein Text (höchstens {TEXT_MAX} Zeichen)."
        elif value is not None:
            fields[name] = value
    priority = data.get("priority", "normal")
    if priority not in rules.priority_ids():
        errors["priority"] = f"Erlaubt sind: {allowed('priority', rules.priority_ids())}."
    channel = data.get("channel", "web")
    if channel not in CHANNELS:
        errors["channel"] = f"Erlaubt sind: {allowed('channel')}."
    license_locked = data.get("license_locked", False)
    if not isinstance(license_locked, bool):
        errors["license_locked"] = "Erwartet wird true oder false."
    if errors:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=errors)
    facts = TicketFacts(
        **fields, requested_priority=priority, channel=channel, license_locked=license_locked
    )
    return jsonify(rules.route(facts, explain=True).to_dict())


def _problem(status: int, detail: str, **extra: Any) -> Any:
    body = {"status": status, "detail": detail, **extra}
    return jsonify(body), status, {"Content-Type": "application/problem+json"}
