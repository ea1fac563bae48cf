"""Pages "Ist diese E-Mail echt?": in the portal, and public without sign-in (verdict only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from helpdesk.runtime import current
from helpdesk.security import public, requires
from notifications.mailings import genuine

blueprint = Blueprint("genuine", __name__)


def _submitted() -> bytes:
    upload = request.files.get("eml")
    if upload is not None and upload.filename:
        return upload.stream.read(genuine.MAX_BYTES)
    return request.form.get("headers", "").encode("utf-8")


def _page(template: str) -> Any:
    if request.method != "POST":
        return render_template(template, verdict=None, empty=False)
    raw = _submitted()
    if not raw.strip():
        return render_template(template, verdict=None, empty=True), 422
    return render_template(template, verdict=genuine.check(current(), raw), empty=False)


@blueprint.route("/konto/echtheit", methods=["GET", "POST"])
@requires("customer")
def portal() -> Any:
    return _page("notifications/genuine_portal.html")


@blueprint.route("/echtheit", methods=["GET", "POST"])
@public("anyone may ask whether a mail is ours; the answer is the verdict only, rate-limited")
def anonymous() -> Any:
    if request.method == "POST":
        try:
            genuine.count_public_check(current(), request.remote_addr or "unknown")
        except genuine.TooManyChecks:
            return render_template("notifications/genuine_public.html", limited=True), 429
    return _page("notifications/genuine_public.html")
