"""The site's menu: one entry per area, shown when the caller holds the right for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from helpdesk.forms import ActionForm
from helpdesk.security import current_principal

# (label, endpoint, right): the order is the order on screen.
MENU = (
    ("Tickets", "tickets.my_tickets", "customer.tickets"),
    ("E-Mail-Verlauf", "tickets.email_history", "customer.email_history"),
    ("Mein Konto", "account.overview", "customer"),
    ("Konsole", "console.queues", "agent"),
    ("Konten", "staff_accounts.search", "agent"),
    ("SLA-Bericht", "sla.report", "supervisor"),
    ("Textbausteine", "text_modules.index", "supervisor"),
    ("Benachrichtigungen", "agent_alerts.settings", "agent"),
    ("Mailings", "mailings.index", "ops"),
    ("Fehlgeschlagen", "failed_work.index", "ops"),
    ("Mitarbeiter", "staff_admin.index", "admin"),
    ("Sicherheit", "security.overview", "session"),
)


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


def navigation() -> dict[str, Any]:
    """Template context: the menu for the caller's rights, the caller, the sign-out form."""
    principal = current_principal()
    path = request.path
    items = []
    for label, endpoint, right in MENU:
        if principal.has(right):
            url = url_for(endpoint)
            items.append(NavItem(label, url, path == url or path.startswith(url + "/")))
    return {
        "navigation": items,
        "principal": principal,
        # Not bound to the request's form: an error page (also 413) renders it without reading
        # what was posted.
        "sign_out_form": ActionForm(formdata=None) if principal.has("session") else None,
    }
