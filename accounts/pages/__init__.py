"""Wiring for the app factory: blueprints, the principal loader and the page navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import Unauthorized

from accounts import api, auth
from accounts.pages import account as views
from accounts.pages import security as security_pages
from accounts.pages import signin, staff
from accounts.pages.forms import ActionForm
from helpdesk.security import ACCESS_ATTRIBUTE, current_principal, public


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


def register(app: Flask, csrf: CSRFProtect) -> None:
    for blueprint in (signin.blueprint, views.blueprint, security_pages.blueprint, staff.blueprint):
        app.register_blueprint(blueprint)
    app.register_blueprint(api.api)
    csrf.exempt(api.api)  # JSON API: bearer tokens only (see accounts.auth.load_principal)
    auth.register(app)
    app.context_processor(_navigation)
    app.register_error_handler(401, _sign_in_first)
    _declare_static(app)


def _sign_in_first(error: Unauthorized) -> Any:
    """Pages send anonymous visitors to the sign-in form; the API answers 401 as before."""
    if request.path.startswith(("/api/", "/healthz")):
        body = {"title": "Unauthorized", "status": 401, "detail": error.description}
        return jsonify(body), 401, {"Content-Type": "application/problem+json"}
    return redirect(url_for("signin.sign_in"))


def _declare_static(app: Flask) -> None:
    """Flask's own static view carries no access rule; stylesheets and scripts are public."""
    serve = app.view_functions.get("static")
    if serve is None or getattr(serve, ACCESS_ATTRIBUTE, None) is not None:
        return

    @public("stylesheets and scripts of the pages; nothing secret lives in static/")
    def static(filename: str) -> Any:
        return serve(filename=filename)

    app.view_functions["static"] = static


def _navigation() -> dict[str, Any]:
    """The menu for the caller's rights."""
    principal = current_principal()
    items: list[tuple[str, str]] = []
    if principal.has("customer.tickets"):
        items.append(("Tickets", url_for("tickets.my_tickets")))
    if principal.has("customer.email_history"):
        items.append(("E-Mail-Verlauf", url_for("tickets.email_history")))
    if principal.has("customer"):
        items.append(("Mein Konto", url_for("account.overview")))
    if principal.has("agent"):
        items.append(("Konsole", url_for("console.queues")))
        items.append(("Konten", url_for("staff_accounts.search")))
    if principal.has("supervisor"):
        items.append(("SLA-Bericht", url_for("sla.report")))
    if principal.has("ops"):
        items.append(("Mailings", url_for("mailings.index")))
    if principal.has("session"):
        items.append(("Sicherheit", url_for("security.overview")))
    path = request.path
    navigation = [
        NavItem(label, url, path == url or (url != "/" and path.startswith(url + "/")))
        for label, url in items
    ]
    return {
        "navigation": navigation,
        "principal": principal,
        "sign_out_form": ActionForm() if principal.has("session") else None,
    }
