"""JSON API for accounts: ``/api/v1/accounts/{number}`` and the customer-owned parts of it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from accounts import auth, people, services
from accounts.models import Account
from accounts.services import NotFound, ValidationError
from accounts.users import TOKEN
from accounts.vocabulary import contact_options
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from vocabulary import EDITIONS

api = Blueprint("accounts_api", __name__, url_prefix="/api/v1/accounts")
token_api = Blueprint("token_api", __name__, url_prefix="/api/v1")


def _problem(status: int, detail: str, **extra: Any) -> Any:
    body = {"status": status, "detail": detail, **extra}
    return jsonify(body), status, {"Content-Type": "application/problem+json"}


def _account(customer_number: str) -> Account:
    """The account, once the caller is known to be allowed to see it (404 before 403 leaks)."""
    try:
        account = services.account_by_number(current(), customer_number)
    except NotFound:
        account = None
    if account is None:
        auth.require_account_access(-1)  # customers learn nothing about other numbers
        raise NotFound(customer_number)
    auth.require_account_access(account.id)
    return account


def _json_body() -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def account_document(account: Account) -> dict[str, Any]:
    edition = EDITIONS[account.edition]
    today = services.today_in_germany()
    return {
        "customer_number": account.customer_number,
        "company": account.company,
        "active": account.active,
        "edition": {"id": edition.id, "name": edition.name},
        "support_level": edition.support_level,
        "key_accounting": account.key_accounting,
        "first_contact": account.first_contact,
        "products": account.product_names,
        "license_locks": [
            {
                "product": lock.product,
                "since": lock.since.isoformat(),
                "until": lock.until.isoformat() if lock.until else None,
                "until_revoked": lock.until is None,
                "reason": lock.reason,
                "active": lock.active_on(today),
            }
            for lock in account.license_locks
        ],
    }


@api.get("/<customer_number>")
@requires("account.view")
def show_account(customer_number: str) -> Any:
    try:
        account = _account(customer_number)
    except NotFound:
        return _problem(404, "Kein Konto mit dieser Kundennummer.")
    document = account_document(account)
    if not auth.may_see_contacts():
        return jsonify(document)
    document["distribution_lists"] = people.distribution_lists(current(), account.id)
    document["contact_persons"] = [
        {
            "id": contact.id,
            "name": contact.full_name,
            "email": contact.email,
            "receives_critical": contact.receives_critical,
            "gdpr_representative": contact.gdpr_representative,
            "external": contact.external,
            "responsibilities": contact.responsibilities,
            "newsletter_channels": contact.newsletter_channels,
        }
        for contact in people.list_contacts(current(), account.id)
    ]
    return jsonify(document)


@api.put("/<customer_number>/first-contact")
@requires("customer.contacts")
def put_first_contact(customer_number: str) -> Any:
    try:
        account = _account(customer_number)
    except NotFound:
        return _problem(404, "Kein Konto mit dieser Kundennummer.")
    data = _json_body()
    if data is None or not isinstance(data.get("email"), str):
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors={"email": "Fehlt."})
    try:
        account = services.change_first_contact(
            current(), account.id, data["email"], current_principal().id
        )
    except ValidationError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    return jsonify({"first_contact": account.first_contact})


@api.post("/<customer_number>/contact-persons")
@requires("customer.contacts")
def post_contact_person(customer_number: str) -> Any:
    try:
        account = _account(customer_number)
    except NotFound:
        return _problem(404, "Kein Konto mit dieser Kundennummer.")
    data = _json_body()
    if data is None:
        return _problem(422, "Erwartet wird ein JSON-Objekt.", errors={"_body": "Kein Objekt."})
    try:
        draft = people.parse_contact(data)
        contact = people.create_contact(current(), account.id, draft, current_principal().id)
    except ValidationError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    body = {"id": contact.id, **draft.audit_view()}
    return jsonify(body), 201


@api.put("/<customer_number>/distribution-lists/<purpose>")
@requires("customer.contacts")
def put_distribution_list(customer_number: str, purpose: str) -> Any:
    try:
        account = _account(customer_number)
    except NotFound:
        return _problem(404, "Kein Konto mit dieser Kundennummer.")
    if contact_options().purpose(purpose) is None:
        return _problem(404, f"Unbekannter Verteiler {purpose!r}.")
    data = _json_body()
    entries = data.get("addresses") if data else None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return _problem(
            422,
            "Bitte prüfen Sie die markierten Felder.",
            errors={"addresses": "Erwartet wird eine Liste von E-Mail-Adressen."},
        )
    try:
        saved = people.replace_distribution_list(
            current(), account.id, purpose, entries, current_principal().id
        )
    except ValidationError as error:
        return _problem(422, "Bitte prüfen Sie die markierten Felder.", errors=error.errors)
    return jsonify({"purpose": purpose, "addresses": saved})


@token_api.get("/token")
@requires(TOKEN)
def show_token() -> Any:
    """The calling token: whose it is, its scopes and the rights it holds now (none while its
    user still has to set up a required second factor)."""
    principal = current_principal()
    attributes = principal.attributes
    return jsonify(
        {
            "id": attributes["token_id"],
            "name": attributes["token_name"],
            "scopes": attributes["scopes"],
            "user": attributes["email"],
            "kind": attributes["kind"],
            "customer_number": _customer_number(attributes.get("account_id")),
            "permissions": sorted(principal.permissions - {TOKEN}),
            "second_factor_setup_required": attributes["must_enrol"],
        }
    )


def _customer_number(account_id: int | None) -> str | None:
    if account_id is None:
        return None
    return services.get_account(current(), account_id).customer_number
