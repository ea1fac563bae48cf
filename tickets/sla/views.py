"""SLA pages: the supervisors' report (table, CSV, chart) and a ticket's clock with the
on-call acknowledgement; template helpers so ticket pages can show due times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from helpdesk.text import parse_id
from tickets.models import Ticket, parse_number
from tickets.routing import routing_rules
from tickets.sla import reports
from tickets.sla.clock import SlaView, acknowledge, sla_view
from tickets.sla.explain import explain_ticket
from tickets.sla.labels import (
    BERLIN,
    format_berlin,
    format_day,
    format_minutes,
    offset_change_label,
    skipped_phrases,
    weekdays_label,
)
from tickets.sla.models import SlaEscalation, SlaPause

blueprint = Blueprint("sla", __name__)

DEFAULT_WEEKS = 8
MAX_WEEKS = 53


class AcknowledgeForm(FlaskForm):
    """ "Übernehmen" of a paging ticket: only the CSRF token."""


@blueprint.app_template_global("sla_view")
def template_sla_view(ticket: Ticket) -> SlaView:
    """``{% set sla = sla_view(ticket) %}`` on ticket pages."""
    return sla_view(ticket, utcnow())


@blueprint.app_context_processor
def due_explanation_words() -> dict[str, Any]:
    """The German words the due-time explanation (``sla/_explanation.html``) is told in."""
    return {
        "format_berlin": format_berlin,
        "format_day": format_day,
        "format_minutes": format_minutes,
        "weekdays_label": weekdays_label,
        "skipped_phrases": skipped_phrases,
        "offset_change_label": offset_change_label,
    }


@blueprint.app_template_global("now_utc")
def template_now_utc() -> datetime:
    return utcnow()


@blueprint.app_template_filter("sla_due")
def template_sla_due(due: datetime | None, breached: bool = False) -> str:
    """A list cell: ``Mo, 30.03. 08:30``, ``überfällig`` once passed, ``–`` when nothing is due."""
    if due is None:
        return "verletzt" if breached else "–"
    if due <= utcnow():
        return f"überfällig seit {format_berlin(due)}"
    return format_berlin(due) + (" (verletzt)" if breached else "")


def _report_arguments() -> tuple[reports.Period, str | None, list[tuple[str, str]]]:
    weeks = parse_id(request.args.get("wochen") or str(DEFAULT_WEEKS))
    if weeks is None or not 1 <= weeks <= MAX_WEEKS:
        abort(400, f"wochen: 1 bis {MAX_WEEKS}")
    queues = [(queue.id, queue.name) for queue in routing_rules(current()).queues]
    queue = request.args.get("queue") or None
    if queue is not None and queue not in dict(queues):
        abort(400, "queue: unbekannte Queue")
    today = utcnow().astimezone(BERLIN).date()
    return reports.Period.last_weeks(weeks, today), queue, queues


@blueprint.get("/reports/sla")
@requires("supervisor")
def report() -> Any:
    period, queue, queues = _report_arguments()
    with current().db.session() as session:
        rows = reports.sla_report(session, period, utcnow(), queue)
    weeks = period.weeks()
    bars, bar_width = reports.weekly_bars(rows, weeks)
    return render_template(
        "sla/report.html",
        rows=rows,
        bars=bars,
        bar_width=bar_width,
        chart_width=reports.CHART_WIDTH,
        chart_height=reports.CHART_HEIGHT,
        period=period,
        weeks=len(weeks),
        queue=queue,
        queues=queues,
        queue_names=dict(queues),
        decimal=reports.decimal_comma,
    )


@blueprint.get("/reports/sla.csv")
@requires("supervisor")
def report_csv() -> Response:
    period, queue, _ = _report_arguments()
    with current().db.session() as session:
        rows = reports.sla_report(session, period, utcnow(), queue)
    first, last = reports.iso_week(period.first), reports.iso_week(period.last)
    filename = f"sla-{queue + '-' if queue else ''}{first}-{last}.csv"
    return Response(
        reports.report_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _ticket(session: Any, number: str) -> Ticket:
    ticket_id = parse_number(number)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if ticket is None:
        abort(404)
    return ticket


@blueprint.get("/konsole/tickets/<number>/sla")
@requires("agent")
def ticket_clock(number: str) -> Any:
    with current().db.session() as session:
        ticket = _ticket(session, number)
        pauses = session.scalars(
            select(SlaPause).where(SlaPause.ticket_id == ticket.id).order_by(SlaPause.started_at)
        ).all()
        steps = session.scalars(
            select(SlaEscalation)
            .where(SlaEscalation.ticket_id == ticket.id)
            .order_by(SlaEscalation.fire_at, SlaEscalation.id)
        ).all()
        due = explain_ticket(session, ticket, utcnow())
    return render_template(
        "sla/ticket.html",
        due=due,
        ticket=ticket,
        sla=sla_view(ticket, utcnow()),
        pauses=pauses,
        steps=steps,
        form=AcknowledgeForm(),
        when=format_berlin,
    )


@blueprint.post("/konsole/tickets/<number>/sla/uebernehmen")
@requires("agent")
def acknowledge_page(number: str) -> Any:
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    actor = current_principal().attributes.get("email") or current_principal().id
    with current().db.session() as session:
        ticket = _ticket(session, number)
        taken = acknowledge(session, ticket, actor, utcnow())
    if taken:
        flash("Übernommen: die Bereitschaft wird nicht weiter alarmiert.", "success")
    else:
        flash("Für dieses Ticket läuft keine Alarmierung.", "info")
    return redirect(url_for("sla.ticket_clock", number=number), 303)
