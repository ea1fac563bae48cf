"""Ops pages for mandatory mailings: compose, preview, approve, send, watch, look up."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from helpdesk import live
from helpdesk.i18n import berlin
from helpdesk.labels import labels
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from notifications.mailings import repair, services
from notifications.mailings.api import actor, proof_response
from notifications.mailings.composing import DraftError, MailingDraft
from vocabulary import EDITIONS

blueprint = Blueprint("mailings", __name__, url_prefix="/ops/mailings")


@blueprint.errorhandler(services.MailingNotFound)
def _not_found(error: services.MailingNotFound) -> Any:
    return NotFound()


@blueprint.get("")
@requires("ops")
def index() -> Any:
    return render_template("notifications/index.html", mailings=services.list_mailings(current()))


@blueprint.route("/neu", methods=["GET", "POST"])
@requires("ops")
def create() -> Any:
    runtime = current()
    form = request.form
    errors: dict[str, str] = {}
    if request.method == "POST":
        kind = form.get("audience_kind", "all")
        if kind == "products":  # product names may contain spaces: one checkbox each
            values = form.getlist("audience_products")
        else:
            values = form.get("audience_values", "").replace(",", "\n").split()
        follows = form.get("follows", "").strip()
        draft = MailingDraft(
            product_family=form.get("product_family", ""),
            purpose=form.get("purpose", ""),
            subject=form.get("subject", ""),
            body=form.get("body", ""),
            body_format=form.get("body_format", "markdown"),
            audience_kind=kind,
            audience_values=tuple(values),
            follows_id=int(follows) if follows.isdigit() else None,
        )
        try:
            mailing = services.create_mailing(runtime, draft, actor())
        except DraftError as error:
            errors = error.errors
        else:
            flash(f"Mailing {mailing.id} angelegt.", "success")
            return redirect(url_for("mailings.show", mailing_id=mailing.id))
    return render_template(
        "notifications/new.html",
        form=form,
        errors=errors,
        families=sorted(services.family_colours(runtime)),
        purposes=labels("purpose"),
        editions=EDITIONS,
    ), (422 if errors else 200)


@blueprint.get("/<int:mailing_id>")
@requires("ops")
def show(mailing_id: int) -> Any:
    runtime = current()
    account = request.args.get("konto") or None
    try:
        preview = services.preview(runtime, mailing_id, account)
    except services.MailingNotFound:
        if account is None:
            raise
        flash(f"Kein Kundenkonto mit der Nummer {account}.", "error")
        preview = services.preview(runtime, mailing_id)
    return render_template(
        "notifications/show.html",
        mailing=services.get_mailing(runtime, mailing_id),
        preview=preview,
        me=actor(),
        my_email=str(current_principal().attributes.get("email") or ""),
    )


ACTIONS = ("approve", "send", "pause", "resume", "cancel", "test", "schedule", "resend")


@blueprint.post("/<int:mailing_id>/<action>")
@requires("ops")
def act(mailing_id: int, action: str) -> Any:
    if action not in ACTIONS:
        return NotFound()
    runtime = current()
    try:
        if action == "approve":
            services.approve(runtime, mailing_id, actor())
            flash("Mailing freigegeben.", "success")
        elif action == "send" and request.form.get("bestaetigt") != "ja":
            return render_template(
                "notifications/confirm_send.html",
                mailing=services.get_mailing(runtime, mailing_id),
                reach=services.reach(runtime, mailing_id),
            )
        elif action == "send":
            mailing = services.start_sending(runtime, mailing_id, actor())
            flash(f"Der Versand an {mailing.recipients} Empfänger hat begonnen.", "success")
            return redirect(url_for("mailings.progress", mailing_id=mailing_id))
        elif action == "test":
            to = request.form.get("an", "").strip()
            to = to or str(current_principal().attributes.get("email") or "")
            if not to:
                raise services.MailingRefused("Bitte eine Empfängeradresse angeben.")
            result = services.test_send(runtime, mailing_id, to, request.form.get("konto") or None)
            flash(f"Testversand an {to}: {result.reply}", "success" if result.sent else "error")
        elif action == "schedule":
            at = services.german_time(request.form.get("zeitpunkt", ""))
            services.schedule(runtime, mailing_id, at, actor())
            flash(f"Versand geplant für {berlin(at)} Uhr.", "success")
        elif action == "resend":
            added = repair.resend(runtime, mailing_id)
            flash(f"Nachsenden an {added} korrigierte Adressen gestartet.", "success")
            return redirect(url_for("mailings.bounces", mailing_id=mailing_id))
        else:
            {"pause": services.pause, "resume": services.resume, "cancel": services.cancel}[action](
                runtime, mailing_id
            )
            flash("Gespeichert.", "success")
    except services.MailingRefused as error:
        flash(str(error), "error")
    except DraftError as error:
        flash(" ".join(error.errors.values()), "error")
    return redirect(url_for("mailings.show", mailing_id=mailing_id))


@blueprint.get("/<int:mailing_id>/fortschritt")
@requires("ops")
def progress(mailing_id: int) -> Any:
    status = services.progress(current(), mailing_id)
    return render_template(
        "notifications/progress.html",
        status=status,
        mailing_id=mailing_id,
        live_etag=_progress_etag(status),
    )


@blueprint.get("/<int:mailing_id>/fortschritt/aktuell")
@requires("ops")
def progress_live(mailing_id: int) -> Any:
    """The progress page's live part (static/live.js): the counts per state decide the ETag,
    so an unchanged mailing costs that one grouped count, not the per-domain one."""
    runtime = current()
    etag = _progress_etag(services.progress(runtime, mailing_id, domains=0))
    unchanged = live.not_modified(etag)
    if unchanged is not None:
        return unchanged
    status = services.progress(runtime, mailing_id)
    html = render_template("notifications/_progress.html", status=status, mailing_id=mailing_id)
    return live.fragment(html, etag)


def _progress_etag(status: services.Progress) -> str:
    return live.etag_of(status.mailing["state"], sorted(status.counts.items()))


@blueprint.get("/<int:mailing_id>/empfaenger")
@requires("ops")
def recipients(mailing_id: int) -> Any:
    runtime = current()
    query = request.args.get("q", "")
    return render_template(
        "notifications/recipients.html",
        mailing=services.get_mailing(runtime, mailing_id),
        records=services.search_deliveries(runtime, mailing_id, query),
        query=query,
    )


@blueprint.get("/<int:mailing_id>/nachweis.<kind>")
@requires("ops")
def proof_download(mailing_id: int, kind: str) -> Any:
    if kind not in ("csv", "json"):
        return NotFound()
    return proof_response(mailing_id, kind)


@blueprint.get("/<int:mailing_id>/unzustellbar")
@requires("ops")
def bounces(mailing_id: int) -> Any:
    runtime = current()
    return render_template(
        "notifications/bounces.html",
        mailing=services.get_mailing(runtime, mailing_id),
        bounces=repair.mailing_bounces(runtime, mailing_id),
    )
