"""The live routing rules, read-only, in German, and where a ticket would go (and why).

The rules stay data in ``routing_rules.yaml``, changed by review; this page shows what the
running service routes by right now and explains a decision the way ``helpdesk routes
explain`` does (the same engine trace).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from helpdesk.labels import labels
from helpdesk.runtime import current
from helpdesk.security import requires
from tickets.routing import TicketFacts, routing_rules
from tickets.routing.wording import explain, shown_rules
from vocabulary import CHANNELS, SUPPORT_LEVELS

blueprint = Blueprint("console_routing", __name__, url_prefix="/konsole/regeln")

# What the explain form asks; every text is bounded, as the JSON explain door's are.
TEXT_FIELDS = ("subject", "body", "product_family", "component", "department")
TEXT_MAX = 5_000


@blueprint.get("")
@requires("agent")
def rules() -> Any:
    live_rules = routing_rules(current())
    args = request.args
    errors: dict[str, str] = {}
    explanation = None
    if args.get("pruefen"):
        texts = {name: (args.get(name) or "").strip() for name in TEXT_FIELDS}
        for name, value in texts.items():
            if len(value) > TEXT_MAX:
                errors[name] = f"Höchstens {TEXT_MAX} Zeichen."
        priority = args.get("priority") or "normal"
        if priority not in live_rules.priority_ids():
            errors["priority"] = "Bitte eine Priorität aus der Liste wählen."
        channel = args.get("channel") or "web"
        if channel not in CHANNELS:
            errors["channel"] = "Bitte einen Eingangskanal aus der Liste wählen."
        support_level = args.get("support_level") or None
        if support_level is not None and support_level not in SUPPORT_LEVELS:
            errors["support_level"] = "Bitte ein Support-Level aus der Liste wählen."
        if not errors:
            facts = TicketFacts(
                subject=texts["subject"],
                body=texts["body"],
                product_family=texts["product_family"] or None,
                component=texts["component"] or None,
                department=texts["department"] or None,
                requested_priority=priority,
                channel=channel,
                support_level=support_level,
                license_locked=args.get("license_locked") == "1",
            )
            explanation = explain(live_rules, facts)
    return render_template(
        "tickets/routing_rules.html",
        rules=shown_rules(live_rules),
        queues=live_rules.queues,
        catalog=live_rules.catalog,
        version=live_rules.version,
        priorities=labels("priority"),
        channels=labels("channel"),
        support_levels=[(level, level) for level in SUPPORT_LEVELS],
        args=args,
        errors=errors,
        explanation=explanation,
    ), (422 if errors else 200)
