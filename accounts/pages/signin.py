"""Sign-in pages: password, second factor (or its set-up where enforced), forgotten passwords,
invitations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, session, url_for

from accounts import auth, credentials, invitations, password_resets, users
from accounts.pages.forms import (
    AcceptInvitationForm,
    CodeForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    SignInForm,
)
from accounts.services import NotFound, ValidationError
from helpdesk.forms import ActionForm, show_errors
from helpdesk.runtime import current
from helpdesk.security import current_principal, public

blueprint = Blueprint("signin", __name__)
TOO_MANY = "Zu viele Anmeldeversuche. Bitte warten Sie 15 Minuten und versuchen Sie es erneut."
UNAVAILABLE = (
    "Die Anmeldung ist vorübergehend nicht verfügbar. Bitte versuchen Sie es in einigen Minuten"
    " erneut."
)
TOO_MANY_RESETS = (
    "Zu viele Anfragen zum Zurücksetzen des Passworts. Bitte versuchen Sie es in einer Stunde"
    " erneut."
)
RESET_REQUESTED = (
    "Wenn zu dieser E-Mail-Adresse ein Zugang besteht, haben wir Ihnen einen Link zum Festlegen"
    " eines neuen Passworts geschickt. Bitte prüfen Sie Ihr Postfach."
)


def home_for(principal: Any) -> str:
    """Where a signed-in user starts: customers in Mein Konto, agents in their queues, ops in
    the mailings."""
    if principal.attributes.get("must_enrol"):
        return url_for("security.overview")
    if principal.has("customer"):
        return url_for("account.overview")
    if principal.has("agent"):
        return url_for("console.queues")
    if principal.has("ops"):
        return url_for("mailings.index")
    return url_for("security.overview")


@blueprint.get("/")
@public("entry point: sends visitors to sign-in and users to their start page")
def root() -> Any:
    principal = current_principal()
    if not principal.authenticated:
        return redirect(url_for("signin.sign_in"))
    return redirect(home_for(principal))


@blueprint.route("/anmelden", methods=["GET", "POST"])
@public("the sign-in form itself; attempts are rate-limited in Redis")
def sign_in() -> Any:
    if current_principal().authenticated:
        return redirect(home_for(current_principal()))
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            auth.check_attempts(email=email)
            user = users.check_password(current(), email, form.password.data or "")
            if user is None:
                auth.count_failure(email=email)
        except auth.TooManyAttempts:
            form.form_errors.append(TOO_MANY)
            return render_template("accounts/sign_in.html", form=form), 429
        except auth.LimiterUnavailable:
            form.form_errors.append(UNAVAILABLE)
            return render_template("accounts/sign_in.html", form=form), 503
        if user is None:
            form.form_errors.append("E-Mail-Adresse oder Passwort ist falsch.")
            return render_template("accounts/sign_in.html", form=form), 401
        if user.totp_enabled:
            auth.set_pending(user, "code")
            return redirect(url_for("signin.second_factor"))
        if user.require_totp:
            auth.set_pending(user, "enrol")
            return redirect(url_for("signin.enrol"))
        return _signed_in(user)
    return render_template("accounts/sign_in.html", form=form)


def _signed_in(user: Any) -> Any:
    users.record_sign_in(current(), user.id)
    auth.start_session(users.get_user(current(), user.id))
    return redirect(url_for("signin.root"))


@blueprint.route("/anmelden/code", methods=["GET", "POST"])
@public("second sign-in step; only a session whose password was just accepted gets here")
def second_factor() -> Any:
    user_id = auth.pending("code")
    if user_id is None:
        return redirect(url_for("signin.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            auth.check_attempts(user_id=user_id)
            if users.check_second_factor(current(), user_id, form.code.data or ""):
                return _signed_in(users.get_user(current(), user_id))
            auth.count_failure(user_id=user_id)
        except auth.TooManyAttempts:
            form.code.errors = [TOO_MANY]
            return render_template("accounts/second_factor.html", form=form), 429
        except auth.LimiterUnavailable:
            form.code.errors = [UNAVAILABLE]
            return render_template("accounts/second_factor.html", form=form), 503
        form.code.errors = ["Der Code stimmt nicht."]
        return render_template("accounts/second_factor.html", form=form), 401
    return render_template("accounts/second_factor.html", form=form)


@blueprint.route("/anmelden/zwei-faktor-einrichten", methods=["GET", "POST"])
@public("set-up of an enforced second factor, after the password was accepted")
def enrol() -> Any:
    user_id = auth.pending("enrol")
    if user_id is None:
        return redirect(url_for("signin.sign_in"))
    user = users.get_user(current(), user_id)
    secret = session.setdefault("enrol_secret", credentials.new_totp_secret())
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = users.enable_totp(current(), user_id, secret, form.code.data or "")
        except ValidationError as error:
            show_errors(form, error)
        else:
            users.record_sign_in(current(), user_id)
            auth.start_session(users.get_user(current(), user_id))
            return render_template("accounts/recovery_codes.html", codes=codes)
    return render_template(
        "accounts/enrol.html",
        form=form,
        secret=secret,
        uri=credentials.provisioning_uri(secret, user.email),
        qr=credentials.provisioning_qr(credentials.provisioning_uri(secret, user.email)),
        enforced=True,
    )


@blueprint.post("/abmelden")
@public("signing out needs no rights; the CSRF token stops cross-site sign-outs")
def sign_out() -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        auth.end_session()
        flash("Sie wurden abgemeldet.")
    return redirect(url_for("signin.sign_in"))


@blueprint.route("/anmelden/passwort-vergessen", methods=["GET", "POST"])
@public("asks for a reset link; same answer for every address, rate-limited in Redis")
def forgot_password() -> Any:
    if current_principal().authenticated:
        return redirect(home_for(current_principal()))
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            auth.count_reset_request(email)
            password_resets.request_reset(current(), email)
        except auth.TooManyAttempts:
            form.form_errors.append(TOO_MANY_RESETS)
            return render_template("accounts/forgot_password.html", form=form), 429
        except auth.LimiterUnavailable:
            form.form_errors.append(UNAVAILABLE)
            return render_template("accounts/forgot_password.html", form=form), 503
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(RESET_REQUESTED)
            return redirect(url_for("signin.sign_in"))
    return render_template("accounts/forgot_password.html", form=form)


@blueprint.route("/anmelden/passwort-neu/<token>", methods=["GET", "POST"])
@public("the single-use, expiring link in the password-reset e-mail is the credential")
def reset_password(token: str) -> Any:
    if password_resets.open_reset(current(), token) is None:
        return render_template("accounts/password_reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            password_resets.reset_password(current(), token, form.password.data or "")
        except ValidationError as error:
            show_errors(form, error)
        except NotFound:
            return render_template("accounts/password_reset_invalid.html"), 404
        else:
            auth.end_session()
            flash("Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen Passwort an.")
            return redirect(url_for("signin.sign_in"))
    return render_template("accounts/reset_password.html", form=form)


@blueprint.route("/einladung/<token>", methods=["GET", "POST"])
@public("the single-use, expiring link in the invitation e-mail is the credential")
def accept_invitation(token: str) -> Any:
    invitation = invitations.open_invitation(current(), token)
    if invitation is None:
        return render_template("accounts/invitation_invalid.html"), 404
    form = AcceptInvitationForm(data={"name": invitation.name} if invitation.name else None)
    if form.validate_on_submit():
        try:
            user = invitations.accept(
                current(), token, name=form.name.data or "", password=form.password.data or ""
            )
        except ValidationError as error:
            show_errors(form, error)
        except NotFound:
            return render_template("accounts/invitation_invalid.html"), 404
        else:
            flash("Willkommen! Ihr Zugang ist eingerichtet.")
            if users.must_enrol(user):  # staff whose admin required a second factor
                auth.set_pending(user, "enrol")
                return redirect(url_for("signin.enrol"))
            return _signed_in(user)
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation)
