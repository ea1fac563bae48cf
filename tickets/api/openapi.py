"""The OpenAPI 3.1 description of ``/api/v1``; tests check it against the running app."""

from __future__ import annotations

from typing import Any

from vocabulary import CHANNELS, PRIORITIES, STATUSES

NULLABLE_STRING = {"type": ["string", "null"]}
ERRORS = {"type": "object", "additionalProperties": {"type": "string"}}

SUMMARY = {
    "number": {"type": "string", "pattern": "^HD-[0-9]{6,}$"},
    "queue": {"type": "string"},
    "priority": {"type": "string", "enum": list(PRIORITIES)},
    "requested_priority": {"type": "string", "enum": list(PRIORITIES)},
    "status": {"type": "string", "enum": list(STATUSES)},
}

SCHEMAS: dict[str, Any] = {
    "TicketInput": {
        "type": "object",
        "required": ["reply_to", "product_family", "component", "subject", "text"],
        "properties": {
            "reply_to": {"type": "string", "format": "email", "maxLength": 320},
            "product_family": {"type": "string", "maxLength": 120},
            "component": {"type": "string", "maxLength": 200},
            "department": NULLABLE_STRING,
            "subject": {"type": "string", "maxLength": 250},
            "text": {"type": "string", "maxLength": 50000},
            "priority": {"type": "string", "enum": list(PRIORITIES), "default": "normal"},
            "customer_number": {
                "type": "string",
                "description": "Staff only: file for this account.",
            },
        },
    },
    "TicketCreated": {
        "type": "object",
        "required": [*SUMMARY, "routing"],
        "properties": {
            **SUMMARY,
            "routing": {
                "type": "object",
                "required": ["rule", "rules_version"],
                "properties": {"rule": {"type": "string"}, "rules_version": {"type": "string"}},
            },
        },
    },
    "TicketRow": {
        "type": "object",
        "required": [*SUMMARY, "subject", "channel", "created_at", "updated_at"],
        "properties": {
            **SUMMARY,
            "subject": {"type": "string"},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "product_family": {"type": "string"},
            "component": {"type": "string"},
            "customer_number": NULLABLE_STRING,
            "assignee": NULLABLE_STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "TicketPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/TicketRow"}},
            "next_cursor": NULLABLE_STRING,
        },
    },
    "Ticket": {
        "type": "object",
        "required": [*SUMMARY, "subject", "text", "messages", "attachments"],
        "properties": {
            **SUMMARY,
            "reply_to": {"type": "string"},
            "product_family": {"type": "string"},
            "component": {"type": "string"},
            "department": NULLABLE_STRING,
            "subject": {"type": "string"},
            "text": {"type": "string"},
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "tags": {"type": "array", "items": {"type": "string"}},
            "customer_number": NULLABLE_STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "author", "text", "created_at"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["customer", "agent", "internal"]},
                        "author": {"type": "string"},
                        "text": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                },
            },
            "attachments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["filename", "content_type", "size", "sha256"],
                    "properties": {
                        "filename": {"type": "string"},
                        "content_type": {"type": "string"},
                        "size": {"type": "integer"},
                        "sha256": {"type": "string"},
                    },
                },
            },
            "sensitive_data_items": {
                "type": "integer",
                "description": "How many sensitive items the ticket holds; never their content.",
            },
        },
    },
    "Problem": {
        "type": "object",
        "required": ["status", "detail"],
        "properties": {
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "title": {"type": "string"},
            "errors": ERRORS,
        },
    },
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


UNAUTHORISED = {"401": _problem("No or an unknown bearer token."), "403": _problem("Not allowed.")}


def document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk tickets API",
            "version": "1",
            "description": "Support tickets of the customer center. Authenticate with "
            "`Authorization: Bearer hd_...` (an API token from the security page).",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/tickets": {
                "post": {
                    "operationId": "createTicket",
                    "summary": "File a ticket; routing decides queue and effective priority.",
                    "requestBody": {"required": True, "content": _json("TicketInput")},
                    "responses": {
                        "201": {"description": "Filed.", "content": _json("TicketCreated")},
                        "400": _problem("The body is not JSON."),
                        "422": _problem("Field errors, in `errors` by field name."),
                        **UNAUTHORISED,
                    },
                },
                "get": {
                    "operationId": "listTickets",
                    "summary": "Tickets the caller may read, one page at a time (cursor).",
                    "parameters": [
                        _query("cursor", "`next_cursor` of the previous page."),
                        _query("limit", "Page size, 1-100.", {"type": "integer"}),
                        _query("status", "offen (default), alle, or one status."),
                        _query("queue", "Queue id."),
                        _query("priority", "Effective priority.", {"enum": list(PRIORITIES)}),
                        _query("channel", "Channel.", {"enum": list(CHANNELS)}),
                        _query("assignee", "me, none or a user id."),
                        _query("customer_number", "Staff only: one account's tickets."),
                        _query("q", "Ticket number, customer number, e-mail or words."),
                        _query(
                            "order", "due (staff default) or changed.", {"enum": ["due", "changed"]}
                        ),
                    ],
                    "responses": {
                        "200": {"description": "One page.", "content": _json("TicketPage")},
                        "422": _problem("Bad filter or cursor."),
                        **UNAUTHORISED,
                    },
                },
            },
            "/api/v1/tickets/{number}": {
                "get": {
                    "operationId": "getTicket",
                    "summary": "One ticket with its public thread (staff also see notes).",
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The ticket.", "content": _json("Ticket")},
                        "404": _problem("No such ticket for this caller."),
                        **UNAUTHORISED,
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document."}},
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
