"""The JSON schemas of ``/api/v1``: what each operation takes and answers (OpenAPI 3.1).

Limits, enums and the one-line rule for header texts come from the code that enforces them,
so the document cannot promise what a door refuses.
"""

from __future__ import annotations

from typing import Any

from accounts.models import CUSTOMER_PERMISSIONS, STAFF_ROLES
from accounts.people import TEXT_LIMITS
from helpdesk.text import MAX_ID
from notifications.mailings import composing
from notifications.mailings.models import (
    AUDIENCE_KINDS,
    BODY_FORMATS,
    DELIVERY_STATES,
    MAILING_STATES,
    PURPOSES,
)
from tickets import services
from tickets.models import MESSAGE_KINDS
from vocabulary import CHANNELS, EDITIONS, PRIORITIES, STATUSES

# helpdesk.text: a text that can end up in a mail header is one line without control
# characters (lone surrogates, which JSON Schema cannot name, are refused too).
ONE_LINE = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"
TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
STRING: dict[str, Any] = {"type": "string"}
NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
DATE_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def one_line(max_length: int, min_length: int = 0) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "minLength": min_length, "pattern": ONE_LINE}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def shape(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An object with these properties, the ``required`` ones always present."""
    return {"type": "object", "required": required, "properties": properties}


TICKET_SUMMARY = {
    "number": {"type": "string", "pattern": "^HD-[0-9]{6,}$"},
    "queue": STRING,
    "priority": {"type": "string", "enum": list(PRIORITIES)},
    "requested_priority": {"type": "string", "enum": list(PRIORITIES)},
    "status": {"type": "string", "enum": list(STATUSES)},
}


MERGED_TICKET = {
    "type": "object",
    "required": ["status", "detail", "merged_into"],
    "description": "A problem detail for 308: the ticket was merged into `merged_into`.",
    "properties": {
        "status": {"type": "integer", "enum": [308]},
        "detail": STRING,
        "merged_into": TICKET_SUMMARY["number"],
    },
}


def ticket_schemas(families: list[str], departments: list[str]) -> dict[str, Any]:
    return {
        "MergedTicket": MERGED_TICKET,
        "TicketInput": {
            "type": "object",
            "required": ["reply_to", "product_family", "component", "subject", "text"],
            "properties": {
                "reply_to": {"type": "string", "format": "email", "maxLength": 320},
                "product_family": {"type": "string", "enum": families},
                "component": one_line(200, 1),
                "department": {"type": ["string", "null"], "enum": [*departments, None]},
                "subject": one_line(services.SUBJECT_MAX, 1),
                "text": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": services.TEXT_MAX,
                    "pattern": TEXT,
                },
                "priority": {"type": "string", "enum": list(PRIORITIES), "default": "normal"},
                "emergency_confirmed": {
                    "type": "boolean",
                    "default": False,
                    "description": "Required and true for priority `critical`: the caller "
                    "confirms an emergency (server outage, a system-relevant service down, "
                    "website or shop offline). A critical ticket that is no emergency is billed.",
                },
                "customer_number": {
                    "type": "string",
                    "maxLength": 20,
                    "description": "Staff only: file for this account.",
                },
            },
        },
        "TicketCreated": shape(
            [*TICKET_SUMMARY, "routing"],
            {
                **TICKET_SUMMARY,
                "routing": shape(
                    ["rule", "rules_version"], {"rule": STRING, "rules_version": STRING}
                ),
            },
        ),
        "TicketRow": shape(
            [*TICKET_SUMMARY, "subject", "channel", "created_at", "updated_at"],
            {
                **TICKET_SUMMARY,
                "subject": STRING,
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "product_family": STRING,
                "component": STRING,
                "customer_number": NULLABLE_STRING,
                "assignee": NULLABLE_STRING,
                "created_at": DATE_TIME,
                "updated_at": DATE_TIME,
            },
        ),
        "TicketPage": shape(
            ["items", "next_cursor"],
            {"items": {"type": "array", "items": ref("TicketRow")}, "next_cursor": NULLABLE_STRING},
        ),
        "Ticket": shape(
            [*TICKET_SUMMARY, "subject", "text", "messages", "attachments"],
            {
                **TICKET_SUMMARY,
                "reply_to": STRING,
                "product_family": STRING,
                "component": STRING,
                "department": NULLABLE_STRING,
                "subject": STRING,
                "text": STRING,
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "tags": {"type": "array", "items": STRING},
                "customer_number": NULLABLE_STRING,
                "created_at": DATE_TIME,
                "updated_at": DATE_TIME,
                "messages": {
                    "type": "array",
                    "items": shape(
                        ["kind", "author", "text", "created_at"],
                        {
                            "kind": {"type": "string", "enum": list(MESSAGE_KINDS)},
                            "author": STRING,
                            "text": STRING,
                            "created_at": DATE_TIME,
                        },
                    ),
                },
                "attachments": {
                    "type": "array",
                    "items": shape(
                        ["filename", "content_type", "size", "sha256"],
                        {
                            "filename": STRING,
                            "content_type": STRING,
                            "size": {"type": "integer", "minimum": 0},
                            "sha256": STRING,
                        },
                    ),
                },
                "sensitive_data_items": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "How many sensitive items it holds; never their content.",
                },
                "due_times": ref("DueTimes"),
            },
        ),
    }


INTERVAL = shape(
    ["from", "to"], {"from": DATE_TIME, "to": DATE_TIME, "minutes": {"type": "number"}}
)
DUE_SCHEMAS: dict[str, Any] = {
    "DueTimes": {
        **shape(
            [
                "policy",
                "support_level",
                "priority",
                "chosen_by_routing",
                "clock",
                "calendar",
                "paused_since",
                "targets",
            ],
            {
                "policy": {
                    "type": "string",
                    "description": "support level/priority, e.g. Gold/high",
                },
                "support_level": STRING,
                "priority": {"type": "string", "enum": list(PRIORITIES)},
                "chosen_by_routing": {"type": "boolean"},
                "clock": {"type": "string", "enum": ["business", "around_the_clock"]},
                "calendar": {
                    "anyOf": [
                        shape(
                            ["name", "timezone", "opens", "closes"],
                            {"name": STRING, "timezone": STRING, "opens": STRING, "closes": STRING},
                        ),
                        {"type": "null"},
                    ]
                },
                "paused_since": {"type": ["string", "null"], "format": "date-time"},
                "targets": {"type": "array", "items": ref("DueTarget")},
            },
        ),
        "description": "How the due times were computed: the same walk as the SLA clock.",
    },
    "DueTarget": shape(
        [
            "target",
            "start",
            "started_by",
            "target_minutes",
            "due_utc",
            "due",
            "stored_due_utc",
            "agrees_with_stored",
            "counted",
            "pauses",
            "closed_days",
            "dst_changes",
            "met_at",
            "business_minutes_left",
        ],
        {
            "target": {"type": "string", "enum": ["first_response", "next_response", "resolution"]},
            "start": DATE_TIME,
            "started_by": {"type": "string", "enum": ["filed", "customer_reply"]},
            "target_minutes": {"type": "integer", "minimum": 0},
            "due_utc": DATE_TIME,
            "due": {**DATE_TIME, "description": "Europe/Berlin"},
            "stored_due_utc": {"type": ["string", "null"], "format": "date-time"},
            "agrees_with_stored": {"type": "boolean"},
            "counted": {"type": "array", "items": INTERVAL},
            "pauses": {"type": "array", "items": INTERVAL},
            "closed_days": {
                "type": "array",
                "items": shape(
                    ["date", "kind", "name"],
                    {
                        "date": {"type": "string", "format": "date"},
                        "kind": {"type": "string", "enum": ["weekend", "holiday", "closed_day"]},
                        "name": STRING,
                    },
                ),
            },
            "dst_changes": {
                "type": "array",
                "items": shape(
                    ["date", "utc_offset_before", "utc_offset_after"],
                    {
                        "date": {"type": "string", "format": "date"},
                        "utc_offset_before": STRING,
                        "utc_offset_after": STRING,
                    },
                ),
            },
            "met_at": {"type": ["string", "null"], "format": "date-time"},
            "business_minutes_left": {"type": ["number", "null"]},
        },
    ),
}


CONTACT_TEXT = {name: one_line(limit) for name, limit in TEXT_LIMITS.items()}
CONTACT = {
    "salutation": one_line(100),
    **CONTACT_TEXT,
    "first_name": one_line(TEXT_LIMITS["first_name"], 1),
    "last_name": one_line(TEXT_LIMITS["last_name"], 1),
    "email": {"type": "string", "format": "email", "maxLength": 320},
    "gdpr_representative": {"type": "boolean"},
    "external": {"type": "boolean"},
    "receives_critical": {"type": "boolean"},
    "responsibilities": {"type": "array", "items": STRING},
    "newsletter_channels": {"type": "array", "items": STRING},
}

ACCOUNT_SCHEMAS: dict[str, Any] = {
    "Account": {
        "type": "object",
        "required": [
            "customer_number",
            "company",
            "active",
            "edition",
            "support_level",
            "first_contact",
            "products",
            "license_locks",
        ],
        "description": "`contact_persons` and `distribution_lists` are present only for "
        "callers who may see them on the pages too: staff, and customers with "
        "`customer.contacts`.",
        "properties": {
            "customer_number": STRING,
            "company": STRING,
            "active": {"type": "boolean"},
            "edition": shape(
                ["id", "name"], {"id": {"type": "string", "enum": list(EDITIONS)}, "name": STRING}
            ),
            "support_level": STRING,
            "key_accounting": {"type": "boolean"},
            "first_contact": NULLABLE_STRING,
            "products": {"type": "array", "items": STRING},
            "license_locks": {
                "type": "array",
                "items": shape(
                    ["product", "since", "until", "until_revoked", "active"],
                    {
                        "product": STRING,
                        "since": {"type": "string", "format": "date"},
                        "until": {"type": ["string", "null"], "format": "date"},
                        "until_revoked": {"type": "boolean"},
                        "reason": NULLABLE_STRING,
                        "active": {"type": "boolean"},
                    },
                ),
            },
            "distribution_lists": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": STRING},
            },
            "contact_persons": {
                "type": "array",
                "items": shape(
                    ["id", "name", "email"],
                    {
                        "id": ID,
                        "name": STRING,
                        "email": STRING,
                        "receives_critical": {"type": "boolean"},
                        "gdpr_representative": {"type": "boolean"},
                        "external": {"type": "boolean"},
                        "responsibilities": {"type": "array", "items": STRING},
                        "newsletter_channels": {"type": "array", "items": STRING},
                    },
                ),
            },
        },
    },
    "FirstContactInput": {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "format": "email", "maxLength": 320}},
    },
    "FirstContact": shape(["first_contact"], {"first_contact": NULLABLE_STRING}),
    "ContactPersonInput": {
        "type": "object",
        "required": ["first_name", "last_name", "email"],
        "properties": CONTACT,
    },
    "ContactPerson": shape(["id", "first_name", "last_name", "email"], {"id": ID, **CONTACT}),
    "DistributionListInput": {
        "type": "object",
        "required": ["addresses"],
        "properties": {
            "addresses": {
                "type": "array",
                "items": {"type": "string", "maxLength": 320},
                "description": "The whole list; it replaces the stored one.",
            }
        },
    },
    "DistributionList": shape(
        ["purpose", "addresses"],
        {"purpose": STRING, "addresses": {"type": "array", "items": STRING}},
    ),
    "Token": shape(
        [
            "id",
            "name",
            "scopes",
            "user",
            "kind",
            "customer_number",
            "permissions",
            "second_factor_setup_required",
        ],
        {
            "id": ID,
            "name": STRING,
            "scopes": {
                "type": "array",
                "items": {"type": "string", "enum": [*CUSTOMER_PERMISSIONS, *STAFF_ROLES]},
            },
            "user": STRING,
            "kind": {"type": "string", "enum": ["customer", "staff"]},
            "customer_number": NULLABLE_STRING,
            "permissions": {"type": "array", "items": STRING},
            "second_factor_setup_required": {
                "type": "boolean",
                "description": "True while the user must set up two-factor sign-in: until "
                "then the token holds no rights (`permissions` is empty).",
            },
        },
    ),
}

MAILING = {
    "id": ID,
    "product_family": STRING,
    "purpose": {"type": "string", "enum": list(PURPOSES)},
    "subject": STRING,
    "audience": shape(
        ["kind", "values"],
        {
            "kind": {"type": "string", "enum": list(AUDIENCE_KINDS)},
            "values": {"type": "array", "items": STRING},
        },
    ),
    "follows": {"type": ["integer", "null"]},
    "state": {"type": "string", "enum": list(MAILING_STATES)},
    "created_by": STRING,
    "approved_by": NULLABLE_STRING,
    "recipients": {"type": "integer", "minimum": 0},
}
STATE_COUNTS = {state: {"type": "integer", "minimum": 0} for state in DELIVERY_STATES}


def mailing_schemas(families: list[str]) -> dict[str, Any]:
    return {
        "MailingInput": {
            "type": "object",
            "required": ["product_family", "purpose", "subject", "body"],
            "properties": {
                "product_family": {"type": "string", "enum": families},
                "purpose": {"type": "string", "enum": list(PURPOSES)},
                "subject": one_line(composing.SUBJECT_MAX, 1),
                "body": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": composing.BODY_MAX,
                    "pattern": TEXT,
                    "description": "Links only to MAILING_LINK_HOSTS.",
                },
                "body_format": {"type": "string", "enum": list(BODY_FORMATS)},
                "audience": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": list(AUDIENCE_KINDS)},
                        "values": {"type": "array", "items": STRING},
                    },
                    "description": "`editions` names editions, `products` product families, "
                    "`accounts` customer numbers; `all` takes no values.",
                },
                "follows": {**ID, "type": ["integer", "null"]},
            },
        },
        "Mailing": shape(list(MAILING), MAILING),
        "MailingProgress": shape(
            ["mailing", "counts", "total", "finished", "by_domain"],
            {
                "mailing": ref("Mailing"),
                "counts": shape(list(DELIVERY_STATES), STATE_COUNTS),
                "total": {"type": "integer", "minimum": 0},
                "finished": {"type": "boolean"},
                "by_domain": {
                    "type": "array",
                    "items": shape(["domain"], {"domain": STRING, **STATE_COUNTS}),
                },
            },
        ),
        "MailingPreview": shape(
            ["subject", "text", "html", "company", "customer_number"],
            {
                "subject": STRING,
                "text": STRING,
                "html": STRING,
                "company": STRING,
                "customer_number": STRING,
            },
        ),
        "ScheduleInput": {
            "type": "object",
            "required": ["at"],
            "properties": {
                "at": {
                    "type": "string",
                    "maxLength": 64,
                    "description": "German wall-clock time (2026-12-01T08:00) or ISO with offset.",
                },
            },
        },
        "TestSendInput": {
            "type": "object",
            "properties": {
                "to": {"type": "string", "format": "email", "maxLength": 320},
                "account": {"type": ["string", "null"], "description": "A customer number."},
            },
        },
        "TestSent": shape(
            ["to", "sent", "reply"], {"to": STRING, "sent": {"type": "boolean"}, "reply": STRING}
        ),
        "Delivery": shape(
            ["id", "account_id", "customer_number", "address", "reason", "state", "attempts"],
            {
                "id": ID,
                "account_id": ID,
                "customer_number": STRING,
                "address": STRING,
                "reason": STRING,
                "state": {"type": "string", "enum": list(DELIVERY_STATES)},
                "attempts": {"type": "integer", "minimum": 0},
                "smtp_reply": NULLABLE_STRING,
                "sent_at": {"type": ["string", "null"], "format": "date-time"},
            },
        ),
    }


def routing_schemas(families: list[str], departments: list[str]) -> dict[str, Any]:
    text_field = {"type": ["string", "null"], "maxLength": 50_000}
    return {
        "ExplainInput": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "product_family": text_field,
                "component": text_field,
                "department": text_field,
                "subject": text_field,
                "body": text_field,
                "mailbox": text_field,
                "edition": text_field,
                "support_level": text_field,
                "priority": {"type": "string", "enum": list(PRIORITIES)},
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "license_locked": {"type": "boolean"},
            },
        },
        "Decision": shape(
            [
                "queue",
                "priority",
                "requested_priority",
                "rule",
                "tags",
                "sla_policy",
                "emergency_review",
                "rules_version",
                "trace",
            ],
            {
                "queue": STRING,
                "priority": {"type": "string", "enum": list(PRIORITIES)},
                "requested_priority": {"type": "string", "enum": list(PRIORITIES)},
                "rule": shape(["id", "line"], {"id": STRING, "line": {"type": "integer"}}),
                "tags": {"type": "array", "items": STRING},
                "sla_policy": NULLABLE_STRING,
                "emergency_review": {"type": "boolean"},
                "rules_version": STRING,
                "trace": {
                    "type": "array",
                    "items": shape(
                        ["rule", "line", "matched", "reason"],
                        {
                            "rule": STRING,
                            "line": {"type": "integer"},
                            "matched": {"type": "boolean"},
                            "reason": STRING,
                        },
                    ),
                },
            },
        ),
        "Catalog": shape(
            ["version", "product_families", "departments", "priorities"],
            {
                "version": STRING,
                "product_families": {
                    "type": "array",
                    "items": shape(
                        ["name", "colour", "components"],
                        {
                            "name": {"type": "string", "enum": families},
                            "colour": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                            "components": {"type": "array", "items": STRING},
                        },
                    ),
                },
                "departments": {"type": "array", "items": {"type": "string", "enum": departments}},
                "priorities": {
                    "type": "array",
                    "items": shape(
                        ["id", "name", "description"],
                        {
                            "id": {"type": "string", "enum": list(PRIORITIES)},
                            "name": STRING,
                            "description": STRING,
                        },
                    ),
                },
            },
        ),
    }


PROBLEM = {
    "type": "object",
    "required": ["status", "detail"],
    "properties": {
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": NULLABLE_STRING,
        "title": STRING,
        "errors": {
            "type": "object",
            "additionalProperties": STRING,
            "description": "A German message per bad field, by field name.",
        },
    },
}


def schemas(families: list[str], departments: list[str]) -> dict[str, Any]:
    return {
        **ticket_schemas(families, departments),
        **ACCOUNT_SCHEMAS,
        **mailing_schemas(families),
        **routing_schemas(families, departments),
        **DUE_SCHEMAS,
        "Problem": PROBLEM,
    }
