"""The OpenAPI 3.1 description of every ``/api/v1`` operation; tests and the fuzzer hold the
running app to it."""

from __future__ import annotations

from typing import Any

from tickets.api.schemas import ID, ref, schemas
from tickets.listing import ORDERS
from tickets.routing import RuleSet
from tickets.tags import TAG_MAX
from vocabulary import CHANNELS, PRIORITIES, STATUSES


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(schema)}}


def _list_of(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"type": "array", "items": ref(schema)}}}


INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
STRING_VALUE = {"type": "string"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """JSON content of an object with these (required) properties; more may follow."""
    schema = {"type": "object", "required": list(properties), "properties": properties}
    return {"application/json": {"schema": schema}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": ref("Problem")}},
    }


def _ok(status: str, description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {status: {"description": description, "content": content}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


BAD_REQUEST = {"400": _problem("Not JSON, nested too deeply, or a NUL character in the URL.")}
GUARDED = {
    **BAD_REQUEST,
    "401": _problem("No bearer token, or an unknown or revoked one."),
    "403": _problem("The token's scopes do not allow this (or its user must set up 2FA first)."),
}
INVALID = {"422": _problem("Field errors, in `errors` by field name.")}
NO_TICKET = {"404": _problem("No such ticket for this caller.")}
MERGED = {
    "308": {
        "description": (
            "Permanent Redirect: the ticket was merged into another (a duplicate). `Location` "
            "is that ticket's URL; a client follows it with the same method and token, as "
            "HTTP clients do by default for 308. The body names the target in `merged_into` "
            "for clients that do not follow redirects. The redirect is permanent: a merge is "
            "not undone."
        ),
        "headers": {
            "Location": {
                "description": "`/api/v1/tickets/HD-…` of the ticket it was merged into.",
                "schema": {"type": "string"},
            }
        },
        "content": {"application/problem+json": {"schema": ref("MergedTicket")}},
    }
}
NO_ACCOUNT = {"404": _problem("No such account.")}
NO_MAILING = {"404": _problem("No such mailing.")}
REFUSED = {"409": _problem("The mailing's state or the four-eyes rule does not allow it.")}
QUEUE_DOWN = {"503": _problem("The queue (Redis) is unreachable; the mailing is unchanged.")}

CUSTOMER_NUMBER = _path("customer_number", {"type": "string", "maxLength": 20})
MAILING_ID = _path("mailing_id", ID)


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    body: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**(BAD_REQUEST if public else GUARDED), **responses},
    }
    if body:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    if parameters:
        operation["parameters"] = parameters
    if public:
        operation["security"] = []
    return operation


def _ticket_paths() -> dict[str, Any]:
    return {
        "/api/v1/tickets": {
            "post": _operation(
                "createTicket",
                "File a ticket (scope customer.tickets, or agent for an account); routing "
                "decides queue and effective priority. Critical needs emergency_confirmed.",
                {**_ok("201", "Filed.", _json("TicketCreated")), **INVALID},
                body="TicketInput",
            ),
            "get": _operation(
                "listTickets",
                "Tickets the caller may read, one page at a time (cursor).",
                {**_ok("200", "One page.", _json("TicketPage")), **INVALID},
                parameters=[
                    _query("cursor", "`next_cursor` of the previous page."),
                    _query(
                        "limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100}
                    ),
                    _query(
                        "status",
                        "offen (default), alle, or one status.",
                        {"enum": ["offen", "alle", *STATUSES]},
                    ),
                    _query("queue", "Queue id.", {"type": "string", "maxLength": 60}),
                    _query("priority", "Effective priority.", {"enum": list(PRIORITIES)}),
                    _query("channel", "Channel.", {"enum": list(CHANNELS)}),
                    _query(
                        "assignee",
                        "me, none or a user id (ASCII digits).",
                        {"type": "string", "pattern": "^(me|none|[0-9]{1,10})$"},
                    ),
                    _query("customer_number", "Staff only: one account's tickets."),
                    _query(
                        "tag",
                        "Staff only: tickets with this tag (case and spaces do not matter).",
                        {"type": "string", "maxLength": TAG_MAX},
                    ),
                    _query("q", "Ticket number, customer number, e-mail or words."),
                    _query(
                        "order",
                        "due (staff default), changed (customer default), created, priority, "
                        "number or subject.",
                        {"enum": list(ORDERS)},
                    ),
                ],
            ),
        },
        "/api/v1/tickets/{number}": {
            "get": _operation(
                "getTicket",
                "One ticket with its public thread (staff also see notes).",
                {**_ok("200", "The ticket.", _json("Ticket")), **MERGED, **NO_TICKET},
                parameters=[
                    _path("number", {"type": "string"}, "`HD-` and ASCII digits, e.g. HD-000042.")
                ],
            )
        },
    }


def _account_paths() -> dict[str, Any]:
    return {
        "/api/v1/accounts/{customer_number}": {
            "get": _operation(
                "getAccount",
                "An account: customers their own, agents any.",
                {**_ok("200", "The account.", _json("Account")), **NO_ACCOUNT},
                parameters=[CUSTOMER_NUMBER],
            )
        },
        "/api/v1/accounts/{customer_number}/first-contact": {
            "put": _operation(
                "putFirstContact",
                "Change the first contact (scope customer.contacts).",
                {**_ok("200", "Changed.", _json("FirstContact")), **NO_ACCOUNT, **INVALID},
                body="FirstContactInput",
                parameters=[CUSTOMER_NUMBER],
            )
        },
        "/api/v1/accounts/{customer_number}/contact-persons": {
            "post": _operation(
                "createContactPerson",
                "Add a contact person (scope customer.contacts).",
                {**_ok("201", "Added.", _json("ContactPerson")), **NO_ACCOUNT, **INVALID},
                body="ContactPersonInput",
                parameters=[CUSTOMER_NUMBER],
            )
        },
        "/api/v1/accounts/{customer_number}/distribution-lists/{purpose}": {
            "put": _operation(
                "putDistributionList",
                "Replace a distribution list (scope customer.contacts).",
                {
                    **_ok("200", "Replaced.", _json("DistributionList")),
                    "404": _problem("No such account or purpose."),
                    **INVALID,
                },
                body="DistributionListInput",
                parameters=[
                    CUSTOMER_NUMBER,
                    _path("purpose", {"type": "string"}, "emergency or data_protection."),
                ],
            )
        },
        "/api/v1/token": {
            "get": _operation(
                "getToken",
                "The calling token: its user, scopes and the rights it holds now.",
                _ok("200", "The token.", _json("Token")),
            )
        },
    }


def _mailing_paths() -> dict[str, Any]:
    mailing = _json("Mailing")
    return {
        "/api/v1/mailings": {
            "post": _operation(
                "createMailing",
                "Compose a mandatory mailing (scope ops).",
                {**_ok("201", "Composed.", mailing), **INVALID},
                body="MailingInput",
            ),
            "get": _operation(
                "listMailings",
                "All mailings (scope ops).",
                _ok("200", "The mailings.", _list_of("Mailing")),
            ),
        },
        "/api/v1/mailings/{mailing_id}": {
            "get": _operation(
                "getMailing",
                "A mailing's progress: records per state and per destination domain.",
                {**_ok("200", "Progress.", _json("MailingProgress")), **NO_MAILING},
                parameters=[MAILING_ID],
            )
        },
        "/api/v1/mailings/{mailing_id}/approve": {
            "post": _operation(
                "approveMailing",
                "Approve (a second ops person than the author).",
                {**_ok("200", "Approved.", mailing), **NO_MAILING, **REFUSED},
                parameters=[MAILING_ID],
            )
        },
        "/api/v1/mailings/{mailing_id}/send": {
            "post": _operation(
                "sendMailing",
                "Resolve the audience and start sending.",
                {**_ok("202", "Sending.", mailing), **NO_MAILING, **REFUSED, **QUEUE_DOWN},
                parameters=[MAILING_ID],
            )
        },
        "/api/v1/mailings/{mailing_id}/{action}": {
            "post": _operation(
                "controlMailing",
                "Pause, resume or cancel a mailing.",
                {
                    **_ok("200", "Done.", mailing),
                    "404": _problem("No such mailing or action."),
                    **REFUSED,
                    **QUEUE_DOWN,
                },
                parameters=[
                    MAILING_ID,
                    _path("action", {"type": "string", "enum": ["pause", "resume", "cancel"]}),
                ],
            )
        },
        "/api/v1/mailings/{mailing_id}/preview": {
            "get": _operation(
                "previewMailing",
                "The mail as an account (or a sample account) would receive it.",
                {
                    **_ok("200", "The preview.", _json("MailingPreview")),
                    "404": _problem("No such mailing or account."),
                },
                parameters=[MAILING_ID, _query("account", "A customer number.")],
            )
        },
        "/api/v1/mailings/{mailing_id}/test-send": {
            "post": _operation(
                "testSendMailing",
                "Send the preview, marked [TEST], to one address (default: the caller).",
                {
                    **_ok("200", "The SMTP server's answer.", _json("TestSent")),
                    "404": _problem("No such mailing or account."),
                    **INVALID,
                    "503": _problem("The SMTP server is unreachable."),
                },
                body="TestSendInput",
                parameters=[MAILING_ID],
            )
        },
        "/api/v1/mailings/{mailing_id}/schedule": {
            "post": _operation(
                "scheduleMailing",
                "Have the mailing start at a time (Europe/Berlin); cancellable until then.",
                {**_ok("200", "Scheduled.", mailing), **NO_MAILING, **REFUSED, **INVALID},
                body="ScheduleInput",
                parameters=[MAILING_ID],
            )
        },
        "/api/v1/mailings/{mailing_id}/resend": {
            "post": _operation(
                "resendMailing",
                "Nachsenden: send to the repaired addresses of accounts whose address bounced.",
                {
                    **_ok("202", "How many records were added.", _object({"resent": INTEGER})),
                    **NO_MAILING,
                    **REFUSED,
                },
                parameters=[MAILING_ID],
            )
        },
        "/api/v1/mailings/{mailing_id}/proof": {
            "get": _operation(
                "exportProof",
                "The signed proof of delivery, one line per recipient, streamed.",
                {
                    "200": {
                        "description": "The export; its last line is the Ed25519 signature.",
                        "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            "application/json": {"schema": {}},
                        },
                    },
                    **NO_MAILING,
                    **INVALID,
                },
                parameters=[
                    MAILING_ID,
                    _query("format", "csv (default) or json.", {"enum": ["csv", "json"]}),
                ],
            )
        },
        "/api/v1/mailings/proof/verify": {
            "post": {
                **_operation(
                    "verifyProof",
                    "Check an exported proof against our signing key.",
                    {
                        **_ok("200", "Genuine and unchanged.", _object({"valid": BOOLEAN})),
                        "422": {
                            "description": "Changed, or not signed by us.",
                            "content": _object({"valid": BOOLEAN, "detail": STRING_VALUE}),
                        },
                    },
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                },
            }
        },
        "/api/v1/mailings/proof/key": {
            "get": _operation(
                "proofKey",
                "The public half of the key that signs proofs of delivery.",
                _ok(
                    "200",
                    "The key.",
                    _object({"algorithm": STRING_VALUE, "public_key": STRING_VALUE}),
                ),
            )
        },
        "/api/v1/mailings/{mailing_id}/deliveries": {
            "get": _operation(
                "listDeliveries",
                "Delivery records, searched by customer number, company or address.",
                {**_ok("200", "Up to 200 records.", _list_of("Delivery")), **NO_MAILING},
                parameters=[MAILING_ID, _query("q", "Search text.")],
            )
        },
    }


def _routing_paths() -> dict[str, Any]:
    return {
        "/api/v1/routes/explain": {
            "post": _operation(
                "explainRoute",
                "Where a ticket with these facts would go, and why (scope agent).",
                {**_ok("200", "The decision with its trace.", _json("Decision")), **INVALID},
                body="ExplainInput",
            )
        },
        "/api/v1/catalog": {
            "get": _operation(
                "getCatalog",
                "The ticket form's catalog: families, components, departments, priorities.",
                {
                    **_ok("200", "The catalog (ETag: the rules version).", _json("Catalog")),
                    "304": {"description": "Unchanged since If-None-Match."},
                },
                public=True,
            )
        },
        "/api/v1/openapi.json": {
            "get": _operation(
                "openapi",
                "This document.",
                _ok(
                    "200",
                    "OpenAPI 3.1 document.",
                    {"application/json": {"schema": {"type": "object"}}},
                ),
                public=True,
            )
        },
    }


def document(server_url: str, rules: RuleSet) -> dict[str, Any]:
    catalog = rules.catalog_dict()
    families = [family["name"] for family in catalog["product_families"]]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": "1",
            "description": "Support tickets, accounts and mandatory mailings of the customer "
            "center. Authenticate with `Authorization: Bearer hd_...`, an API token made on "
            "the security page (Mein Konto > Sicherheit). Tokens open only `/api/`; pages "
            "trust only the browser session. A token carries chosen scopes, never more than "
            "its user holds, and nothing while its user must still set up two-factor sign-in.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {**_ticket_paths(), **_account_paths(), **_mailing_paths(), **_routing_paths()},
        "components": {
            "schemas": schemas(families, list(catalog["departments"])),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`hd_...`), shown once when it is made.",
                }
            },
        },
    }
