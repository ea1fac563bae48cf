"""Mein Konto: company profile, contact persons, distribution lists, users, security."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from accounts import invitations, people, services
from accounts.pages.forms import (
    DistributionListForm,
    FirstContactForm,
    InvitationForm,
    PermissionsForm,
    contact_person_form,
)
from accounts.services import NotFound, ValidationError
from accounts.users import get_user
from accounts.vocabulary import contact_options
from helpdesk.forms import ActionForm, show_errors
from helpdesk.runtime import current
from helpdesk.security import current_principal, requires
from notifications.mailings import repair
from notifications.mailings import services as mailing_services
from vocabulary import EDITIONS

blueprint = Blueprint("account", __name__, url_prefix="/konto")
SAVED = "Ihre Änderungen wurden gespeichert."


def _account_id() -> int:
    account_id = current_principal().attributes.get("account_id")
    if not isinstance(account_id, int):
        abort(403)
    return account_id


@blueprint.get("")
@requires("customer")
def overview() -> Any:
    account = services.get_account(current(), _account_id())
    principal = current_principal()
    return render_template(
        "accounts/overview.html",
        account=account,
        edition=EDITIONS[account.edition],
        lists=people.distribution_lists(current(), account.id),
        purposes=contact_options().distribution_purposes,
        bounces=repair.open_bounces(current(), account.id)
        if principal.has("customer.contacts")
        else [],
        undeliverable=repair.undeliverable(current(), account.id),
    )


@blueprint.get("/pflichtmailings")
@requires("customer.email_history")
def mandatory_mailings() -> Any:
    """Which mandatory mailings the account received, and at which addresses."""
    return render_template(
        "accounts/mandatory_mailings.html",
        mailings=mailing_services.account_mailings(current(), _account_id()),
    )


@blueprint.route("/firmenprofil", methods=["GET", "POST"])
@requires("customer.contacts")
def company_profile() -> Any:
    account = services.get_account(current(), _account_id())
    form = FirstContactForm(data={"first_contact": account.first_contact})
    if form.validate_on_submit():
        try:
            services.change_first_contact(
                current(), account.id, form.first_contact.data or "", current_principal().id
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(SAVED)
            return redirect(url_for("account.company_profile"))
    status = 422 if form.errors else 200
    return render_template("accounts/company_profile.html", form=form, account=account), status


@blueprint.get("/ansprechpartner")
@requires("customer.contacts")
def contacts() -> Any:
    return render_template(
        "accounts/contacts.html",
        undeliverable=repair.undeliverable(current(), _account_id()),
        contacts=people.list_contacts(current(), _account_id()),
        lists=people.distribution_lists(current(), _account_id()),
        purposes=contact_options().distribution_purposes,
        action_form=ActionForm(),
    )


@blueprint.route("/ansprechpartner/neu", methods=["GET", "POST"])
@requires("customer.contacts")
def new_contact() -> Any:
    form = contact_person_form()
    if not form.is_submitted():
        form.newsletter_channels.data = list(contact_options().default_newsletters)
    if form.validate_on_submit():
        try:
            draft = people.parse_contact(form.service_data())
            people.create_contact(current(), _account_id(), draft, current_principal().id)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash("Der Ansprechpartner wurde angelegt.")
            return redirect(url_for("account.contacts"))
    status = 422 if form.errors else 200
    return render_template("accounts/contact_form.html", form=form, contact=None), status


@blueprint.route("/ansprechpartner/<int:contact_id>", methods=["GET", "POST"])
@requires("customer.contacts")
def edit_contact(contact_id: int) -> Any:
    try:
        contact = people.get_contact(current(), _account_id(), contact_id)
    except NotFound:
        abort(404)
    form = contact_person_form(obj=contact)
    if form.validate_on_submit():
        try:
            draft = people.parse_contact(form.service_data())
            people.update_contact(
                current(), _account_id(), contact_id, draft, current_principal().id
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(SAVED)
            return redirect(url_for("account.contacts"))
    status = 422 if form.errors else 200
    return render_template("accounts/contact_form.html", form=form, contact=contact), status


@blueprint.post("/ansprechpartner/<int:contact_id>/loeschen")
@requires("customer.contacts")
def delete_contact(contact_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        people.delete_contact(current(), _account_id(), contact_id, current_principal().id)
    except NotFound:
        abort(404)
    flash("Der Ansprechpartner wurde gelöscht.")
    return redirect(url_for("account.contacts"))


@blueprint.route("/verteiler/<purpose>", methods=["GET", "POST"])
@requires("customer.contacts")
def distribution_list(purpose: str) -> Any:
    option = contact_options().purpose(purpose)
    if option is None:
        abort(404)
    addresses = people.distribution_lists(current(), _account_id())[purpose]
    form = DistributionListForm(data={"addresses": "\n".join(addresses)})
    if form.validate_on_submit():
        try:
            people.replace_distribution_list(
                current(),
                _account_id(),
                purpose,
                (form.addresses.data or "").splitlines(),
                current_principal().id,
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(SAVED)
            return redirect(url_for("account.contacts"))
    status = 422 if form.errors else 200
    return render_template("accounts/distribution_list.html", form=form, purpose=option), status


@blueprint.route("/benutzer", methods=["GET", "POST"])
@requires("customer.users")
def users() -> Any:
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            invitations.invite(
                current(),
                account_id=_account_id(),
                email=form.email.data or "",
                permissions=form.permissions.data or [],
                inviter=get_user(current(), current_principal().attributes["user_id"]),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(f"Die Einladung an {form.email.data} wurde versendet.")
            return redirect(url_for("account.users"))
    status = 422 if form.errors else 200
    admin = invitations.administration(current(), _account_id())
    return render_template(
        "accounts/users.html",
        form=form,
        admin=admin,
        labels=invitations.PERMISSION_LABELS,
        action_form=ActionForm(),
        permissions_form=PermissionsForm(),
    ), status


@blueprint.post("/benutzer/<int:user_id>/rechte")
@requires("customer.users")
def user_permissions(user_id: int) -> Any:
    form = PermissionsForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        invitations.set_permissions(
            current(), _account_id(), user_id, form.permissions.data or [], current_principal().id
        )
    except NotFound:
        abort(404)
    except ValidationError as error:
        for message in error.errors.values():
            flash(message, "error")
    else:
        flash(SAVED)
    return redirect(url_for("account.users"))


@blueprint.post("/benutzer/<int:user_id>/entfernen")
@requires("customer.users")
def remove_user(user_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        invitations.remove_user(current(), _account_id(), user_id, current_principal().id)
    except NotFound:
        abort(404)
    except ValidationError as error:
        for message in error.errors.values():
            flash(message, "error")
    else:
        flash("Der Benutzer wurde entfernt.")
    return redirect(url_for("account.users"))


@blueprint.post("/einladungen/<int:invitation_id>/widerrufen")
@requires("customer.users")
def revoke_invitation(invitation_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        invitations.revoke(current(), _account_id(), invitation_id, current_principal().id)
    except NotFound:
        abort(404)
    flash("Die Einladung wurde widerrufen.")
    return redirect(url_for("account.users"))
