"""Benachrichtigungen (agents): which mails about tickets the signed-in agent wants."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField

from helpdesk.labels import label
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from tickets import agent_alerts

blueprint = Blueprint("agent_alerts", __name__, url_prefix="/konsole/benachrichtigungen")


class AlertsForm(FlaskForm):
    new_ticket = BooleanField()
    customer_reply = BooleanField()
    sla_warning = BooleanField()


def _form(**values: Any) -> AlertsForm:
    form = AlertsForm(**values)
    for alert in agent_alerts.ALERTS:
        form[alert].label.text = label(alert, "agent_alert")
    return form


@blueprint.route("", methods=["GET", "POST"])
@requires("agent")
def settings() -> Any:
    user_id = current_principal().attributes["user_id"]
    chosen = agent_alerts.settings_of(current(), user_id).chosen
    form = _form(data={alert: alert in chosen for alert in agent_alerts.ALERTS})
    if form.validate_on_submit():
        wanted = [alert for alert in agent_alerts.ALERTS if form[alert].data]
        agent_alerts.choose(current(), user_id, wanted, current_principal().id)
        flash("Gespeichert.", "success")
        return redirect(url_for("agent_alerts.settings"), 303)
    return render_template("tickets/alerts.html", form=form)
