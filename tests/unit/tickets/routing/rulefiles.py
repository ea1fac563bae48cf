"""Rules files for tests: the shipped one, and small valid documents to vary."""

from __future__ import annotations

from typing import Any

from helpdesk.config import PROJECT_ROOT

SHIPPED_RULES = PROJECT_ROOT / "routing_rules.yaml"


def small_document(rules: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    """A valid rules document with a small catalog; ``sections`` replace top-level keys."""
    document: dict[str, Any] = {
        "version": 1,
        "catalog": {
            "families": [
                {
                    "name": "JTL-Kundenkonto",
                    "colour": "#0C2340",
                    "components": ["Fragen zu Firmendaten/Kundenkonto", "Benutzerverwaltung"],
                },
                {"name": "JTL-Wawi", "colour": "#2C6FB7", "components": ["JTL-Wawi", "Module"]},
                {
                    "name": "JTL-Vouchers",
                    "colour": "#D4A017",
                    "components": ["JTL-Vouchers", "Benutzerverwaltung"],
                },
            ],
            "departments": ["Technischer Support", "Buchhaltung"],
        },
        "queues": [
            {"id": queue, "name": queue.title(), "team": "Team", "description": "Queue."}
            for queue in ("triage", "support", "accounting", "wawi", "on-call")
        ],
        "rules": rules,
        "default": {"queue": "support"},
    }
    document.update(sections)
    return document
