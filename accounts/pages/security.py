"""Sicherheit: a signed-in user's two-factor sign-in and API tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for

from accounts import auth, credentials, tokens, users
from accounts.pages.forms import CodeForm, TokenForm
from accounts.services import NotFound, ValidationError
from helpdesk.forms import ActionForm, show_errors
from helpdesk.labels import label, labels
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires

blueprint = Blueprint("security", __name__, url_prefix="/konto/sicherheit")
SCOPE_LABELS = labels("scope")


def _user_id() -> int:
    return current_principal().attributes["user_id"]


def _token_form() -> TokenForm:
    form = TokenForm()
    user = users.get_user(current(), _user_id())
    grantable = sorted(tokens.grantable_scopes(user))
    form.scopes.choices = [(scope, label(scope, "scope")) for scope in grantable]
    return form


def _page(**forms: Any) -> Any:
    user = users.get_user(current(), _user_id())
    secret = (
        None
        if user.totp_enabled
        else session.setdefault("enrol_secret", credentials.new_totp_secret())
    )
    return render_template(
        "accounts/security.html",
        user=user,
        secret=secret,
        uri=credentials.provisioning_uri(secret, user.email) if secret else None,
        qr=credentials.provisioning_qr(credentials.provisioning_uri(secret, user.email))
        if secret
        else None,
        code_form=forms.get("code_form") or CodeForm(),
        token_form=forms.get("token_form") or _token_form(),
        action_form=ActionForm(),
        tokens=tokens.tokens_of(current(), user.id),
        new_token=forms.get("new_token"),
        must_enrol=current_principal().attributes.get("must_enrol", False),
    )


@blueprint.get("")
@requires("session")
def overview() -> Any:
    return _page()


@blueprint.post("/zwei-faktor")
@requires("session")
def enable_two_factor() -> Any:
    form = CodeForm()
    secret = session.get("enrol_secret")
    if not form.validate_on_submit() or not isinstance(secret, str):
        return _page(code_form=form), 422
    try:
        codes = users.enable_totp(current(), _user_id(), secret, form.code.data or "")
    except ValidationError as error:
        show_errors(form, error)
        return _page(code_form=form), 422
    auth.start_session(users.get_user(current(), _user_id()))
    return render_template("accounts/recovery_codes.html", codes=codes)


@blueprint.post("/zwei-faktor/aus")
@requires("session")
def disable_two_factor() -> Any:
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(code_form=form), 422
    try:
        users.disable_totp(current(), _user_id(), form.code.data or "")
    except ValidationError as error:
        show_errors(form, error)
        return _page(code_form=form), 422
    auth.start_session(users.get_user(current(), _user_id()))
    flash("Die Zwei-Faktor-Anmeldung ist ausgeschaltet.")
    return redirect(url_for("security.overview"))


@blueprint.post("/tokens")
@requires("session")
def create_token() -> Any:
    form = _token_form()
    if not form.validate_on_submit():
        return _page(token_form=form), 422
    try:
        _token, plain = tokens.issue(
            current(), _user_id(), form.name.data or "", form.scopes.data or []
        )
    except ValidationError as error:
        show_errors(form, error)
        return _page(token_form=form), 422
    return _page(new_token=plain)


@blueprint.post("/tokens/<int:token_id>/widerrufen")
@requires("session")
def revoke_token(token_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        tokens.revoke(current(), _user_id(), token_id)
    except NotFound:
        abort(404)
    flash("Der Token wurde widerrufen.")
    return redirect(url_for("security.overview"))
