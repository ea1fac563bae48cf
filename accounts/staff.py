"""Staff pages: find an account by customer number, company or e-mail address; look at it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from accounts import auth, invitations, people, services
from accounts.forms import SearchForm
from accounts.services import NotFound
from accounts.vocabulary import contact_options, editions
from helpdesk.runtime import Runtime
from helpdesk.security import requires

blueprint = Blueprint("staff_accounts", __name__, url_prefix="/verwaltung/konten")


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


@blueprint.get("")
@requires("agent")
def search() -> Any:
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()
    matches = services.find_accounts(_runtime(), query) if query else []
    return render_template(
        "accounts/staff_search.html", form=form, query=query, matches=matches, editions=editions()
    )


@blueprint.get("/<customer_number>")
@requires("agent")
def detail(customer_number: str) -> Any:
    try:
        account = services.account_by_number(_runtime(), customer_number)
    except NotFound:
        abort(404)
    auth.require_account_access(account.id)
    return render_template(
        "accounts/staff_account.html",
        account=account,
        edition=editions()[account.edition],
        contacts=people.list_contacts(_runtime(), account.id),
        lists=people.distribution_lists(_runtime(), account.id),
        purposes=contact_options().distribution_purposes,
        admin=invitations.administration(_runtime(), account.id),
        audit=services.audit_log(_runtime(), account.id, limit=50),
    )
