"""The customer portal: my tickets, filing a ticket, a ticket's thread, the e-mail history."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import nh3
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from markupsafe import Markup

from helpdesk.forms import ActionForm, show_errors
from helpdesk.labels import labels, mail_headers
from helpdesk.runtime import current
from helpdesk.security import current_principal, public, requires
from tickets import listing, search, services, thread
from tickets.access import Forbidden, TicketMerged, TicketNotFound, Viewer, current_viewer
from tickets.attachments import AttachmentRejected
from tickets.forms import (
    ReplyForm,
    SensitiveForm,
    TicketForm,
    request_uploads,
)
from tickets.routing import routing_rules
from tickets.sensitive import SensitiveDataError

portal = Blueprint("tickets", __name__)
# Every signed-in customer and every agent holds "account.view"; Viewer.of narrows it.
TICKET_USERS = "account.view"


# The customer's sortable columns: list orders (tickets.listing) with their labels.
SORT_COLUMNS = labels("portal_sort")


@portal.get("/tickets")
@requires(TICKET_USERS)
def my_tickets() -> Any:
    """The account's tickets: search (number, subject, text), status filter, sortable columns."""
    viewer = current_viewer()
    if viewer.staff:
        return redirect(url_for("console.queues"))
    status = request.args.get("status") or "alle"
    ticket_filter, errors = listing.parse_filter({"status": status}, viewer)
    if errors:  # an unknown status shows every ticket, as the page says
        status = "alle"
        ticket_filter, _ = listing.parse_filter({"status": status}, viewer)
    order = request.args.get("sort") or "changed"
    if order not in SORT_COLUMNS:
        order = "changed"
    query = (request.args.get("q") or "").strip()
    with current().db.session() as session:
        if query:
            ticket_filter = replace(ticket_filter, matching=search.matching(session, query))
        try:
            page = listing.list_tickets(
                session,
                viewer,
                ticket_filter,
                secret=current().settings.secret_key,
                order=order,
                cursor=request.args.get("cursor"),
            )
        except listing.BadCursor:
            abort(400)
    return render_template(
        "tickets/my_tickets.html",
        page=page,
        query=query,
        status=status,
        order=order,
        sort_columns=SORT_COLUMNS,
        args=request.args,
        filtered=bool(query) or status != "alle",
    )


def _catalog_choices(form: Any) -> dict[str, Any]:
    catalog = routing_rules(current()).catalog_dict()
    families = catalog["product_families"]
    form.product_family.choices = [("", "Bitte wählen")] + [
        (f["name"], f["name"]) for f in families
    ]
    form.component.choices = [("", "Bitte wählen")] + [
        (component, component) for f in families for component in f["components"]
    ]
    form.department.choices = [("", "Keine Angabe")] + [(d, d) for d in catalog["departments"]]
    form.priority.choices = [(p["id"], p["name"]) for p in catalog["priorities"]]
    return catalog


@portal.route("/tickets/neu", methods=["GET", "POST"])
@requires("customer.tickets")
def new_ticket() -> Any:
    viewer = current_viewer()
    form = TicketForm()
    catalog = _catalog_choices(form)
    if request.method == "GET":
        form.reply_to.data = current_principal().attributes.get("email", "")
    if form.validate_on_submit():
        try:
            ticket = _file(form, viewer)
        except services.ValidationError as error:
            show_errors(form, error)
        else:
            flash(
                f"Ihr Ticket {ticket.number} ist angelegt. Eine Bestätigung geht per E-Mail an "
                f"{ticket.reply_to}.",
                "success",
            )
            return redirect(url_for("tickets.show", number=ticket.number))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("tickets/new.html", form=form, catalog=catalog), status


def _file(form: TicketForm, viewer: Viewer) -> Any:
    runtime = current()
    data = {name: form[name].data for name in services.FORM_FIELDS}
    draft = services.parse_draft(
        data,
        routing_rules(runtime),
        channel="web",
        account_id=viewer.account_id,
        requester_id=viewer.user_id,
    )
    services.check_emergency(draft, bool(form.emergency_confirmed.data))
    secret = None
    label, value = form.sensitive_label.data or "", form.sensitive_value.data or ""
    if label or value:
        secret = services.SensitiveInput(label, value)
    try:
        return services.file_ticket(
            runtime, draft, viewer.actor, secret=secret, uploads=request_uploads("attachments")
        )
    except AttachmentRejected as error:
        raise services.ValidationError({"attachments": str(error)}) from None
    except SensitiveDataError as error:
        raise services.ValidationError({"sensitive_value": str(error)}) from None


@portal.get("/tickets/formular.js")
@public("static script for the ticket form (components by family, the emergency notice)")
def form_script() -> Response:
    body = render_template("tickets/form.js")
    return Response(body, mimetype="text/javascript", headers={"Cache-Control": "max-age=300"})


@portal.get("/tickets/<number>")
@requires(TICKET_USERS)
def show(number: str) -> Any:
    viewer = current_viewer()
    if viewer.staff:
        return redirect(url_for("console.ticket", number=number))
    return _render_ticket(viewer, number, ReplyForm(), SensitiveForm())


def _render_ticket(viewer: Viewer, number: str, reply: ReplyForm, secret: SensitiveForm) -> Any:
    try:
        view = thread.ticket_view(current(), viewer, number)
    except TicketMerged as merged:
        return _to_merged(number, merged)
    except TicketNotFound:
        abort(404)
    status = 422 if reply.errors or secret.errors else 200
    return render_template(
        "tickets/show.html",
        view=view,
        reply_form=reply,
        sensitive_form=secret,
        close_form=ActionForm(),
    ), status


def _to_merged(number: str, merged: TicketMerged) -> Any:
    """A merged ticket's number leads to the ticket it was merged into."""
    flash(f"{number.upper()} wird jetzt unter {merged.target} weitergeführt.", "info")
    return redirect(url_for("tickets.show", number=merged.target), 303)


@portal.post("/tickets/<number>/antwort")
@requires("customer.tickets")
def reply(number: str) -> Any:
    viewer = current_viewer()
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            thread.reply_as_customer(
                current(), viewer, number, form.text.data or "", request_uploads("attachments")
            )
        except TicketNotFound:
            abort(404)
        except Forbidden:
            abort(403)
        except services.ValidationError as error:
            show_errors(form, error)
        else:
            flash("Ihre Antwort ist gespeichert. Wir melden uns.", "success")
            return redirect(url_for("tickets.show", number=number))
    return _render_ticket(viewer, number, form, SensitiveForm())


@portal.post("/tickets/<number>/schliessen")
@requires("customer.tickets")
def close(number: str) -> Any:
    viewer = current_viewer()
    if ActionForm().validate_on_submit():
        try:
            thread.close_as_customer(current(), viewer, number)
        except TicketMerged as merged:
            return _to_merged(number, merged)
        except TicketNotFound:
            abort(404)
        flash("Das Ticket ist geschlossen.", "success")
    return redirect(url_for("tickets.show", number=number))


@portal.post("/tickets/<number>/sensible-daten")
@requires("customer.tickets")
def add_sensitive(number: str) -> Any:
    viewer = current_viewer()
    form = SensitiveForm()
    if form.validate_on_submit():
        try:
            thread.add_sensitive(
                current(),
                viewer,
                number,
                form.sensitive_label.data or "",
                form.sensitive_value.data or "",
            )
        except TicketNotFound:
            abort(404)
        except services.ValidationError as error:
            show_errors(form, error)
        else:
            flash("Die Zugangsdaten sind verschlüsselt gespeichert.", "success")
            return redirect(url_for("tickets.show", number=number))
    return _render_ticket(viewer, number, ReplyForm(), form)


@portal.get("/tickets/<number>/anhaenge/<int:attachment_id>")
@requires(TICKET_USERS)
def attachment(number: str, attachment_id: int) -> Any:
    try:
        row, path = thread.attachment_for(current(), current_viewer(), number, attachment_id)
    except TicketNotFound:
        abort(404)
    return send_file(
        path, mimetype=row.content_type, as_attachment=True, download_name=row.filename
    )


@portal.get("/e-mail-verlauf")
@requires("customer.email_history")
def email_history() -> Any:
    from notifications.history import account_history

    account_id = _account_id()
    with current().db.session() as session:
        entries = account_history(session, account_id)
    return render_template("tickets/email_history.html", entries=entries)


@portal.get("/e-mail-verlauf/<kind>/<int:entry_id>")
@requires("customer.email_history")
def email_as_sent(kind: str, entry_id: int) -> Any:
    from notifications.history import message_as_sent

    if kind not in ("ticket", "mailing"):
        abort(404)
    runtime = current()
    with runtime.db.session() as session:
        raw = message_as_sent(session, runtime.settings, _account_id(), kind, entry_id)
    if raw is None:
        abort(404)
    message = message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return render_template("tickets/email_show.html", **readable_message(message))


def _account_id() -> int:
    account_id = current_principal().attributes.get("account_id")
    if not isinstance(account_id, int):
        abort(403)
    return account_id


def readable_message(message: EmailMessage) -> dict[str, Any]:
    """Headers, text and sanitised HTML of a sent message, safe to put on a page."""
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = html_part.get_content() if html_part is not None else ""
    return {
        "headers": mail_headers(
            (name, message[name]) for name in ("From", "To", "Date", "Subject")
        ),
        "text": text_part.get_content() if text_part is not None else "",
        "html": Markup(nh3.clean(html)) if html else None,  # noqa: S704 - nh3 sanitised
    }
