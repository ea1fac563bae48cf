"""Staff pages: find an account by customer number, company or e-mail address; look at it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from accounts import audit_view, auth, invitations, people, services
from accounts.pages.forms import SearchForm
from accounts.services import NotFound
from accounts.vocabulary import contact_options
from helpdesk.runtime import current
from helpdesk.security import requires
from vocabulary import EDITIONS

blueprint = Blueprint("staff_accounts", __name__, url_prefix="/verwaltung/konten")


@blueprint.get("")
@requires("agent")
def search() -> Any:
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()
    matches = services.find_accounts(current(), query) if query else []
    return render_template(
        "accounts/staff_search.html", form=form, query=query, matches=matches, editions=EDITIONS
    )


@blueprint.get("/<customer_number>")
@requires("agent")
def detail(customer_number: str) -> Any:
    try:
        account = services.account_by_number(current(), customer_number)
    except NotFound:
        abort(404)
    auth.require_account_access(account.id)
    return render_template(
        "accounts/staff_account.html",
        account=account,
        edition=EDITIONS[account.edition],
        contacts=people.list_contacts(current(), account.id),
        lists=people.distribution_lists(current(), account.id),
        purposes=contact_options().distribution_purposes,
        admin=invitations.administration(current(), account.id),
        audit=audit_view.lines(services.audit_log(current(), account.id, limit=50)),
    )
