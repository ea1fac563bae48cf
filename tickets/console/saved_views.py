"""Saved views pages (every agent, their own views only): save, open, rename, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from helpdesk.forms import ActionForm, show_errors
from helpdesk.runtime import current
from helpdesk.security import requires
from tickets import saved_views
from tickets.access import current_viewer
from tickets.console.lists import SORT_LABELS
from tickets.services import ValidationError

blueprint = Blueprint("saved_views", __name__, url_prefix="/konsole/ansichten")


class SaveViewForm(FlaskForm):
    name = StringField("Name der Ansicht")
    query = HiddenField()


class RenameViewForm(FlaskForm):
    name = StringField("Neuer Name")


def _rename_forms(views: list[Any]) -> dict[int, RenameViewForm]:
    return {
        view.id: RenameViewForm(prefix=f"view-{view.id}", formdata=None, name=view.name)
        for view in views
    }


def _page(
    save_form: SaveViewForm,
    rename_forms: dict[int, RenameViewForm] | None = None,
    status: int = 200,
) -> Any:
    views = saved_views.views_of(current(), current_viewer(staff_only=True))
    return render_template(
        "tickets/saved_views.html",
        views=views,
        save_form=save_form,
        rename_forms={**_rename_forms(views), **(rename_forms or {})},
        action_form=ActionForm(),
    ), status


@blueprint.get("")
@requires("agent")
def index() -> Any:
    return _page(SaveViewForm(formdata=None))


@blueprint.post("")
@requires("agent")
def save() -> Any:
    form = SaveViewForm()
    if form.validate_on_submit():
        try:
            view = saved_views.save(
                current(),
                current_viewer(staff_only=True),
                form.name.data or "",
                form.query.data or "",
                SORT_LABELS,
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(f"Ansicht „{view.name}“ gespeichert.", "success")
            return redirect(url_for("saved_views.open_view", view_id=view.id), 303)
    return _page(form, status=422)


@blueprint.get("/<int:view_id>")
@requires("agent")
def open_view(view_id: int) -> Any:
    """The console list with the view's filter and order."""
    try:
        view = saved_views.find(current(), current_viewer(staff_only=True), view_id)
    except saved_views.ViewNotFound:
        abort(404)
    return redirect(url_for("console.queues") + (f"?{view.query}" if view.query else ""), 303)


@blueprint.post("/<int:view_id>")
@requires("agent")
def rename(view_id: int) -> Any:
    form = RenameViewForm(prefix=f"view-{view_id}")
    if form.validate_on_submit():
        try:
            saved_views.rename(
                current(), current_viewer(staff_only=True), view_id, form.name.data or ""
            )
        except saved_views.ViewNotFound:
            abort(404)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Ansicht umbenannt.", "success")
            return redirect(url_for("saved_views.index"), 303)
    return _page(SaveViewForm(formdata=None), {view_id: form}, 422)


@blueprint.post("/<int:view_id>/loeschen")
@requires("agent")
def delete(view_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        saved_views.delete(current(), current_viewer(staff_only=True), view_id)
    except saved_views.ViewNotFound:
        abort(404)
    flash("Ansicht gelöscht.", "success")
    return redirect(url_for("saved_views.index"), 303)
