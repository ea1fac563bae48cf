"""Ops page "Fehlgeschlagene Arbeit": what failed or waits, with retry and discard buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from helpdesk.forms import ActionForm
from helpdesk.runtime import current
from helpdesk.security import requires
from notifications.failed_work import services
from notifications.mailings.api import actor

blueprint = Blueprint("failed_work", __name__, url_prefix="/ops/fehlgeschlagen")

KIND_LABELS = {
    "job": "Hintergrund-Jobs (RQ), endgültig fehlgeschlagen",
    "outbox": "E-Mails im Postausgang",
    "delivery": "Empfänger von Pflichtmailings",
    "quarantine": "Eingegangene E-Mails in Quarantäne",
}
STATE_LABELS = {
    "failed": "fehlgeschlagen",
    "deferred": "zurückgestellt",
    "queued": "wartet",
    "sending": "hängt beim Senden",
    "quarantined": "in Quarantäne",
}
ACTION_LABELS = {"failed_work.retried": "erneut versucht", "failed_work.discarded": "verworfen"}
BERLIN = ZoneInfo("Europe/Berlin")


def when(instant: datetime | None) -> str:
    """``29.11.2026 23:40`` in German local time (RQ's times may come without a zone: UTC)."""
    if instant is None:
        return ""
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return f"{aware.astimezone(BERLIN):%d.%m.%Y %H:%M}"


@blueprint.get("")
@requires("ops")
def index() -> Any:
    runtime = current()
    items = services.collect(runtime)
    groups = [
        (kind, label, [item for item in items if item.kind == kind])
        for kind, label in KIND_LABELS.items()
    ]
    return render_template(
        "notifications/failed_work.html",
        groups=groups,
        states=STATE_LABELS,
        actions=services.recent_actions(runtime),
        action_labels=ACTION_LABELS,
        when=when,
        form=ActionForm(),
    )


@blueprint.post("/erneut")
@requires("ops")
def retry() -> Any:
    return _act(services.retry)


@blueprint.post("/verwerfen")
@requires("ops")
def discard() -> Any:
    return _act(services.discard)


def _act(action: Any) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    key = request.form.get("item", "")
    try:
        result = action(current(), key, actor())
    except services.UnknownItem:
        flash(f"{key}: nicht (mehr) vorhanden.", "error")
    except services.NotDone as error:
        flash(str(error), "error")
    else:
        flash(f"{key}: {result}.", "success")
    return redirect(url_for("failed_work.index"))
