"""Mitarbeiter (admin role): invite or create staff, set roles and queues, disable, reset the
second factor and sessions, see the last sign-in and the audit log."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from accounts import invitations, staff_admin, staff_invitations, users
from accounts.pages.forms import InviteStaffForm, NewStaffForm, StaffForm
from accounts.pages.security import SCOPE_LABELS
from accounts.services import NotFound, ValidationError
from helpdesk.db import utcnow
from helpdesk.forms import ActionForm, show_errors
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from tickets.routing import routing_rules

blueprint = Blueprint("staff_admin", __name__, url_prefix="/verwaltung/mitarbeiter")

ROLE_LABELS = {role: SCOPE_LABELS[role] for role in ("agent", "supervisor", "ops", "admin")}


def _queues() -> dict[str, str]:
    return {queue.id: queue.name for queue in routing_rules(current()).queues}


def _with_choices(form: StaffForm) -> StaffForm:
    form.roles.choices = list(ROLE_LABELS.items())
    form.queues.choices = list(_queues().items())
    return form


def _actor() -> str:
    return current_principal().id


def _inviter() -> Any:
    return users.get_user(current(), current_principal().attributes["user_id"])


@blueprint.get("")
@requires("admin")
def index() -> Any:
    return render_template(
        "accounts/staff_list.html",
        staff=staff_admin.staff_members(current()),
        invitations=staff_invitations.open_staff_invitations(current()),
        now=utcnow(),
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
        queue_names=_queues(),
    )


@blueprint.route("/einladen", methods=["GET", "POST"])
@requires("admin")
def invite() -> Any:
    form = _with_choices(InviteStaffForm())
    if form.validate_on_submit():
        try:
            invitation = staff_invitations.invite_staff(
                current(),
                email=form.email.data or "",
                name=form.name.data or "",
                roles=form.roles.data or [],
                queues=form.queues.data or [],
                queue_names=_queues(),
                require_totp=form.require_totp.data,
                inviter=_inviter(),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(f"Die Einladung an {invitation.email} wurde versendet.", "success")
            return redirect(url_for("staff_admin.index"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "accounts/staff_invite.html", form=form, valid_hours=invitations.VALID_HOURS
    ), status


@blueprint.post("/einladungen/<int:invitation_id>/erneut-senden")
@requires("admin")
def resend_invitation(invitation_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        invitation = staff_invitations.resend(
            current(), invitation_id, inviter=_inviter(), queue_names=_queues()
        )
    except NotFound:
        abort(404)
    flash(f"Die Einladung an {invitation.email} wurde erneut versendet.", "success")
    return redirect(url_for("staff_admin.index"), 303)


@blueprint.post("/einladungen/<int:invitation_id>/widerrufen")
@requires("admin")
def revoke_invitation(invitation_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        invitations.revoke(current(), None, invitation_id, _actor())
    except NotFound:
        abort(404)
    flash("Die Einladung wurde widerrufen.", "success")
    return redirect(url_for("staff_admin.index"), 303)


@blueprint.route("/neu", methods=["GET", "POST"])
@requires("admin")
def create() -> Any:
    form = _with_choices(NewStaffForm())
    if form.validate_on_submit():
        try:
            staff_admin.check_queues(form.queues.data or [], _queues())
            user = users.create_staff_user(
                current(),
                email=form.email.data or "",
                password=form.password.data or "",
                roles=form.roles.data or [],
                queues=form.queues.data or [],
                require_totp=form.require_totp.data,
                name=form.name.data or "",
                actor=_actor(),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(f"{user.email} ist angelegt.", "success")
            return redirect(url_for("staff_admin.detail", user_id=user.id), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/staff_new.html", form=form), status


def _member(user_id: int) -> Any:
    try:
        return staff_admin.staff_member(current(), user_id)
    except NotFound:
        abort(404)


def _detail(user_id: int, form: StaffForm | None = None, status: int = 200) -> Any:
    user = _member(user_id)
    if form is None:
        form = _with_choices(StaffForm(obj=user))
    return render_template(
        "accounts/staff_member.html",
        user=user,
        form=form,
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
        audit=staff_admin.staff_audit(current(), user_id),
    ), status


@blueprint.get("/<int:user_id>")
@requires("admin")
def detail(user_id: int) -> Any:
    return _detail(user_id)


@blueprint.post("/<int:user_id>")
@requires("admin")
def change(user_id: int) -> Any:
    form = _with_choices(StaffForm())
    if form.validate_on_submit():
        try:
            staff_admin.change_staff(
                current(),
                user_id,
                actor=_actor(),
                name=form.name.data or "",
                roles=form.roles.data or [],
                queues=form.queues.data or [],
                known_queues=_queues(),
            )
        except NotFound:
            abort(404)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Gespeichert.", "success")
            return redirect(url_for("staff_admin.detail", user_id=user_id), 303)
    return _detail(user_id, form, 422)


def _act(user_id: int, act: Any, done: str) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        act(current(), user_id, actor=_actor())
    except NotFound:
        abort(404)
    except ValidationError as error:
        for message in error.errors.values():
            flash(message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("staff_admin.detail", user_id=user_id), 303)


ACTIVE_DONE = {False: "Deaktiviert und von allen Sitzungen abgemeldet.", True: "Wieder aktiviert."}


@blueprint.post("/<int:user_id>/deaktivieren", endpoint="disable", defaults={"active": False})
@blueprint.post("/<int:user_id>/aktivieren", endpoint="enable", defaults={"active": True})
@requires("admin")
def set_active(user_id: int, active: bool) -> Any:
    """Disable (signs them out everywhere) or re-enable: one handler behind two addresses."""
    return _act(user_id, partial(staff_admin.set_active, active=active), ACTIVE_DONE[active])


@blueprint.post("/<int:user_id>/zwei-faktor-zuruecksetzen")
@requires("admin")
def reset_second_factor(user_id: int) -> Any:
    return _act(
        user_id,
        staff_admin.reset_second_factor,
        "Zwei-Faktor-Anmeldung zurückgesetzt; sie wird bei der nächsten Anmeldung eingerichtet.",
    )


@blueprint.post("/<int:user_id>/abmelden")
@requires("admin")
def end_sessions(user_id: int) -> Any:
    return _act(user_id, staff_admin.end_sessions, "Von allen Sitzungen abgemeldet.")
