"""German error pages in the site's layout, one text per status; the API answers problem+json."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

PAGES: dict[int, tuple[str, str]] = {
    400: ("Ungültige Anfrage", "Die Anfrage konnte nicht verarbeitet werden."),
    401: ("Anmeldung erforderlich", "Bitte melden Sie sich an, um diese Seite zu sehen."),
    403: ("Kein Zugriff", "Für diese Seite fehlen Ihnen die Rechte."),
    404: ("Seite nicht gefunden", "Diese Seite gibt es nicht (mehr). Prüfen Sie die Adresse."),
    405: ("Aktion nicht möglich", "Diese Aktion ist auf dieser Seite nicht vorgesehen."),
    413: (
        "Zu groß",
        "Die gesendeten Daten oder Anhänge sind zu groß. Bitte verkleinern Sie sie.",
    ),
    429: (
        "Zu viele Anfragen",
        "Bitte warten Sie einen Moment und versuchen Sie es dann erneut.",
    ),
    500: (
        "Ein Fehler ist aufgetreten",
        "Das hat nicht geklappt. Bitte versuchen Sie es später noch einmal.",
    ),
    503: (
        "Vorübergehend nicht verfügbar",
        "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
    ),
}
EXPIRED_FORM = (
    "Formular abgelaufen",
    "Das Formular ist abgelaufen oder wurde schon gesendet. Bitte laden Sie die Seite neu "
    "und senden Sie es noch einmal.",
)


def error_page(error: HTTPException) -> Any:
    """The German page for ``error``, with the navigation and a way back."""
    status = error.code or 500
    reload = None
    if isinstance(error, CSRFError):
        title, message = EXPIRED_FORM
        reload = request.referrer if _same_site(request.referrer) else None
    else:
        title, message = PAGES.get(status, PAGES[500 if status >= 500 else 400])
    page = render_template("error.html", title=title, message=message, reload=reload, back="/")
    return page, status, _kept_headers(error)


def _same_site(url: str | None) -> bool:
    return url is not None and url.startswith(request.host_url)


def _kept_headers(error: HTTPException) -> dict[str, str]:
    """Headers the error carries for clients (Allow on 405, Retry-After on 429/503)."""
    headers = dict(error.get_headers())
    return {name: value for name, value in headers.items() if name in ("Allow", "Retry-After")}
