"""Textbausteine pages (supervisors): the modules of every queue, create, edit, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from helpdesk.forms import ActionForm, show_errors
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from tickets import text_modules
from tickets.forms import LenientSelect
from tickets.routing import routing_rules
from tickets.services import ValidationError

blueprint = Blueprint("text_modules", __name__, url_prefix="/konsole/textbausteine")


class TextModuleForm(FlaskForm):
    queue = LenientSelect("Queue")
    title = StringField("Titel")
    body = TextAreaField("Text")


def _queues() -> dict[str, str]:
    return {queue.id: queue.name for queue in routing_rules(current()).queues}


def _form(**values: Any) -> TextModuleForm:
    form = TextModuleForm(**values)
    form.queue.choices = list(_queues().items())
    return form


@blueprint.get("")
@requires("supervisor")
def index() -> Any:
    return render_template(
        "tickets/text_modules.html",
        modules=text_modules.text_modules(current()),
        queue_names=_queues(),
        form=_form(),
        placeholders=text_modules.PLACEHOLDERS,
    )


def _edit_page(module_id: int, form: TextModuleForm, status: int = 200) -> Any:
    return render_template(
        "tickets/text_module.html",
        module_id=module_id,
        form=form,
        action_form=ActionForm(),
        placeholders=text_modules.PLACEHOLDERS,
    ), status


def _save(module_id: int | None, form: TextModuleForm) -> None:
    text_modules.save(
        current(),
        module_id=module_id,
        queue=form.queue.data or "",
        title=form.title.data or "",
        body=form.body.data or "",
        actor=current_principal().id,
        known_queues=_queues(),
    )


@blueprint.post("")
@requires("supervisor")
def create() -> Any:
    form = _form()
    if form.validate_on_submit():
        try:
            _save(None, form)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Textbaustein gespeichert.", "success")
            return redirect(url_for("text_modules.index"), 303)
    return render_template(
        "tickets/text_modules.html",
        modules=text_modules.text_modules(current()),
        queue_names=_queues(),
        form=form,
        placeholders=text_modules.PLACEHOLDERS,
    ), 422


@blueprint.get("/<int:module_id>")
@requires("supervisor")
def edit(module_id: int) -> Any:
    try:
        module = text_modules.text_module(current(), module_id)
    except text_modules.TextModuleNotFound:
        abort(404)
    return _edit_page(module_id, _form(obj=module))


@blueprint.post("/<int:module_id>")
@requires("supervisor")
def change(module_id: int) -> Any:
    form = _form()
    if form.validate_on_submit():
        try:
            _save(module_id, form)
        except text_modules.TextModuleNotFound:
            abort(404)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Textbaustein gespeichert.", "success")
            return redirect(url_for("text_modules.index"), 303)
    return _edit_page(module_id, form, 422)


@blueprint.post("/<int:module_id>/loeschen")
@requires("supervisor")
def delete(module_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        text_modules.delete(current(), module_id)
    except text_modules.TextModuleNotFound:
        abort(404)
    flash("Textbaustein gelöscht.", "success")
    return redirect(url_for("text_modules.index"), 303)
