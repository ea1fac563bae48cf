"""The agent console: queues with counts, the due-first list, a ticket's actions, phone intake."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from helpdesk.forms import ActionForm, show_errors
from helpdesk.labels import labels
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from helpdesk.text import parse_id
from tickets import (
    handling,
    history,
    merging,
    presence,
    saved_views,
    sensitive,
    services,
    text_modules,
    thread,
)
from tickets.access import Forbidden, TicketMerged, TicketNotFound, Viewer, current_viewer
from tickets.console import lists
from tickets.forms import (
    AnswerForm,
    AssignForm,
    BillingForm,
    ChangeForm,
    LinkAccountForm,
    MergeForm,
    NoteForm,
    PhoneForm,
    TagsForm,
    request_uploads,
)
from tickets.inbound import authentication
from tickets.models import Ticket, parse_number
from tickets.routing import routing_rules

blueprint = Blueprint("console", __name__, url_prefix="/konsole")


@blueprint.get("")
@requires("agent")
def queues() -> Any:
    viewer = current_viewer(staff_only=True)
    query = (request.args.get("q") or "").strip()
    with current().db.session() as session:
        jump = _ticket_number(session, viewer, query)
        if jump is not None:
            return redirect(url_for("console.ticket", number=jump), 303)
        # Before the list: a change in between makes the first poll fetch it, not miss it.
        etag = lists.list_etag(session, viewer, request.args)
        context = lists.list_context(session, viewer, request.args)
    return render_template(
        "tickets/console.html",
        **context,
        live_etag=etag,
        args=request.args,
        query=query,
        sort_labels=lists.SORT_LABELS,
        bulk_form=ActionForm(),
        save_view_form=ActionForm(),
        saved_views=saved_views.views_of(current(), viewer),
        assignable=handling.assignable_staff(current()),
        back=urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]),
    )


def _ticket_number(session: Any, viewer: Viewer, query: str) -> str | None:
    """The number searched for, when the search is one ticket's number the agent may read."""
    ticket_id = parse_number(query)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None or not viewer.can_read(ticket):
        return None
    return ticket.number


@blueprint.post("/auswahl")
@requires("agent")
def bulk() -> Any:
    """Assign, move, reprioritise or change the status of the selected tickets at once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    viewer = current_viewer(staff_only=True)
    form = request.form
    chosen = form.get("assignee") or ""
    if chosen not in ("", "me", "none") and not chosen.isdigit():
        abort(400)
    assignee_id = viewer.user_id if chosen == "me" else int(chosen) if chosen.isdigit() else None
    try:
        outcome = handling.apply_to_selection(
            current(),
            viewer,
            form.getlist("numbers"),
            reassign=chosen != "",
            assignee_id=assignee_id,
            reason=form.get("reason") or "",
            queue=form.get("queue") or None,
            priority=form.get("priority") or None,
            status=form.get("status") or None,
        )
    except services.ValidationError as error:
        for message in error.errors.values():
            flash(message, "error")
    else:
        if outcome.changed:
            flash(f"Geändert: {', '.join(outcome.changed)}.", "success")
        if outcome.refused:
            refused = "; ".join(f"{number} ({why})" for number, why in outcome.refused)
            flash(f"Nicht geändert: {refused}.", "error")
    back = urlencode(parse_qsl(form.get("back") or ""))
    return redirect(url_for("console.queues") + (f"?{back}" if back else ""), 303)


@blueprint.get("/tickets/<number>")
@requires("agent")
def ticket(number: str) -> Any:
    return _render(current_viewer(staff_only=True), number)


def _render(viewer: Viewer, number: str, status: int = 200, **forms: Any) -> Any:
    runtime = current()
    try:
        view = thread.ticket_view(runtime, viewer, number)
    except TicketMerged as merged:
        return _to_merged(number, merged)
    except TicketNotFound:
        abort(404)
    queue_ids = lists.queue_choices()
    change = forms.get("change_form") or ChangeForm()
    change.queue.choices = [("", "unverändert"), *queue_ids]
    change.priority.choices = [("", "unverändert"), *labels("priority").items()]
    change.status.choices = [("", "unverändert"), *labels("status").items()]
    assign = forms.get("assign_form") or AssignForm(assignee=str(view.ticket.assignee_id or ""))
    assign.assignee.choices = [("", "niemand")] + [
        (str(agent_id), name) for agent_id, name in handling.agents_for(runtime, view.ticket.queue)
    ]
    with runtime.db.reading() as session:
        sender_checks = authentication.shown_checks(session, [m.id for m in view.messages])
        events = history.entries(session, view.events, dict(queue_ids))
        assignee = history.staff_name(session, view.ticket.assignee_id)
        modules = text_modules.for_ticket(session, view.ticket, view.company, view.customer_number)
    others = presence.announce(
        runtime.redis, view.ticket.id, viewer.actor, writing=False, now=time.time()
    )
    return render_template(
        "tickets/console_ticket.html",
        view=view,
        sender_checks=sender_checks,
        events=events,
        assignee=assignee,
        reply_frame=thread.reply_frame(runtime, view.ticket, viewer.actor),
        holds=view.ticket.assignee_id is not None and view.ticket.assignee_id == viewer.user_id,
        text_modules=modules,
        presence_notice=presence.notice(others),
        works=viewer.works(view.ticket.queue),
        may_reveal=sensitive.may_reveal(current_principal(), view.ticket),
        revealed=forms.get("revealed"),
        reply_form=forms.get("reply_form") or AnswerForm(),
        merge_form=forms.get("merge_form") or MergeForm(),
        note_form=forms.get("note_form") or NoteForm(),
        change_form=change,
        assign_form=assign,
        billing_form=forms.get("billing_form") or BillingForm(),
        link_form=forms.get("link_form") or LinkAccountForm(),
        tags_form=forms.get("tags_form") or TagsForm(formdata=None),
        action_form=ActionForm(),
        queue_names=dict(queue_ids),
    ), status


def _act(number: str, form: Any, action: Any, form_name: str, done: str) -> Any:
    """Run ``action`` for a valid form; re-render with field errors, or go back to the ticket
    saying what happened (``done``)."""
    viewer = current_viewer(staff_only=True)
    if not form.validate_on_submit():
        return _render(viewer, number, 400, **{form_name: form})
    try:
        action(viewer)
    except TicketMerged as merged:
        return _to_merged(number, merged)
    except TicketNotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except services.ValidationError as error:
        show_errors(form, error)
        return _render(viewer, number, 422, **{form_name: form})
    flash(done, "success")
    return redirect(url_for("console.ticket", number=number))


def _to_merged(number: str, merged: TicketMerged) -> Any:
    """A merged ticket's number leads to the ticket it was merged into."""
    flash(f"{number.upper()} wurde mit {merged.target} zusammengeführt.", "info")
    return redirect(url_for("console.ticket", number=merged.target), 303)


@blueprint.post("/tickets/<number>/anwesenheit")
@requires("agent")
def presence_beat(number: str) -> Any:
    """The ticket page's heartbeat (static/presence.js): still here, writing or not."""
    if not ActionForm().validate_on_submit():
        abort(400)
    viewer = current_viewer(staff_only=True)
    runtime = current()
    try:
        with runtime.db.reading() as session:
            ticket_id = thread.load_ticket(session, viewer, number).id
    except TicketNotFound:
        abort(404)
    writing = request.form.get("writing") == "1"
    others = presence.announce(
        runtime.redis, ticket_id, viewer.actor, writing=writing, now=time.time()
    )
    return jsonify(
        {
            "others": [{"who": other.who, "writing": other.writing} for other in others],
            "notice": presence.notice(others),
        }
    )


@blueprint.post("/tickets/<number>/uebernehmen")
@requires("agent")
def claim(number: str) -> Any:
    return _act(
        number,
        ActionForm(),
        lambda viewer: handling.claim(current(), viewer, number),
        "action_form",
        "Sie haben das Ticket übernommen.",
    )


@blueprint.post("/tickets/<number>/zuweisen")
@requires("agent")
def assign(number: str) -> Any:
    form = AssignForm()
    chosen = form.assignee.data or ""
    assignee_id = parse_id(chosen)
    return _act(
        number,
        form,
        lambda viewer: handling.assign(current(), viewer, number, assignee_id),
        "assign_form",
        "Die Zuweisung ist gespeichert.",
    )


@blueprint.post("/tickets/<number>/antwort")
@requires("agent")
def reply(number: str) -> Any:
    form = AnswerForm()
    return _act(
        number,
        form,
        lambda viewer: thread.reply_as_agent(
            current(),
            viewer,
            number,
            form.text.data or "",
            request_uploads("attachments"),
            cc=form.cc.data or "",
        ),
        "reply_form",
        "Ihre Antwort wird per E-Mail versandt.",
    )


@blueprint.post("/tickets/<number>/notiz")
@requires("agent")
def note(number: str) -> Any:
    form = NoteForm()
    return _act(
        number,
        form,
        lambda viewer: thread.add_note(current(), viewer, number, form.text.data or ""),
        "note_form",
        "Die interne Notiz ist gespeichert.",
    )


@blueprint.post("/tickets/<number>/aendern")
@requires("agent")
def change(number: str) -> Any:
    form = ChangeForm()
    return _act(
        number,
        form,
        lambda viewer: handling.change(
            current(),
            viewer,
            number,
            reason=form.reason.data or "",
            queue=form.queue.data or None,
            priority=form.priority.data or None,
            status=form.status.data or None,
        ),
        "change_form",
        "Die Änderung ist gespeichert.",
    )


@blueprint.post("/tickets/<number>/tags")
@requires("agent")
def edit_tags(number: str) -> Any:
    form = TagsForm()
    return _act(
        number,
        form,
        lambda viewer: handling.edit_tags(
            current(), viewer, number, add=form.add.data or "", remove=form.remove.data or ""
        ),
        "tags_form",
        "Die Tags sind gespeichert.",
    )


@blueprint.post("/tickets/<number>/konto")
@requires("agent")
def link_account(number: str) -> Any:
    form = LinkAccountForm()
    return _act(
        number,
        form,
        lambda viewer: handling.link_account(
            current(), viewer, number, form.customer_number.data or "", form.reason.data or ""
        ),
        "link_form",
        "Das Konto ist zugeordnet; Routing und SLA sind neu bestimmt.",
    )


@blueprint.post("/tickets/<number>/zusammenfuehren")
@requires("agent")
def merge_preview(number: str) -> Any:
    """The confirmation page: what merging this ticket into the chosen one moves."""
    return _merge_step(
        number,
        merging.plan,
        lambda plan, form: render_template("tickets/merge_confirm.html", plan=plan, form=form),
    )


@blueprint.post("/tickets/<number>/zusammenfuehren/bestaetigen")
@requires("agent")
def merge(number: str) -> Any:
    def done(plan: merging.MergePlan, _form: MergeForm) -> Any:
        flash(
            f"{plan.source} ist mit {plan.target} zusammengeführt; {plan.notified} wird per "
            "E-Mail informiert.",
            "success",
        )
        return redirect(url_for("console.ticket", number=plan.target), 303)

    return _merge_step(number, merging.merge, done)


def _merge_step(number: str, step: Any, done: Any) -> Any:
    """Run a merge step (plan or merge) for the form's target; errors go back to the ticket."""
    viewer = current_viewer(staff_only=True)
    form = MergeForm()
    if not form.validate_on_submit():
        return _render(viewer, number, 400, merge_form=form)
    try:
        plan = step(current(), viewer, number, form.target.data or "")
    except TicketMerged as merged:
        return _to_merged(number, merged)
    except TicketNotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except services.ValidationError as error:
        show_errors(form, error)
        return _render(viewer, number, 422, merge_form=form)
    return done(plan, form)


@blueprint.post("/tickets/<number>/verrechnen")
@requires("agent")
def bill(number: str) -> Any:
    form = BillingForm()
    return _act(
        number,
        form,
        lambda viewer: handling.bill_no_emergency(
            current(), viewer, number, form.reason.data or ""
        ),
        "billing_form",
        "Das Ticket ist als verrechenbar markiert.",
    )


@blueprint.post("/tickets/<number>/sensible-daten")
@requires("agent")
def reveal(number: str) -> Any:
    """The one view that shows sensitive data in plain text; each call is audited."""
    viewer = current_viewer(staff_only=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        revealed = sensitive.reveal(current(), parse_number(number) or 0, current_principal())
    except sensitive.NotAllowed:
        abort(403)
    response = current_app.make_response(_render(viewer, number, revealed=revealed))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/telefon", methods=["GET", "POST"])
@requires("agent")
def phone() -> Any:
    viewer = current_viewer(staff_only=True)
    form = PhoneForm()
    catalog = routing_rules(current()).catalog_dict()
    families = catalog["product_families"]
    form.product_family.choices = [(f["name"], f["name"]) for f in families]
    form.component.choices = [(c, c) for f in families for c in f["components"]]
    form.department.choices = [("", "Keine Angabe")] + [(d, d) for d in catalog["departments"]]
    form.priority.choices = [(p["id"], p["name"]) for p in catalog["priorities"]]
    if form.validate_on_submit():
        fields = {
            name: form[name].data or ""
            for name in ("keyword", "reply_to", "product_family", "component", "text", "priority")
        }
        fields["department"] = form.department.data or ""
        if not fields["text"]:
            fields["text"] = f"Anruf über die Hotline, Stichwort: {fields['keyword']}"
        try:
            created = handling.file_by_phone(
                current(), viewer, form.customer_number.data or "", fields
            )
        except services.ValidationError as error:
            show_errors(form, error)
        else:
            return redirect(url_for("console.ticket", number=created.number))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("tickets/phone.html", form=form, catalog=catalog), status
