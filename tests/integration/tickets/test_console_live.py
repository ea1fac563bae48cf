"""The console's live refresh: a fragment with an ETag; unchanged costs a 304 and no list."""

from __future__ import annotations

from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.accounts.factories import make_customer, make_staff, sign_in
from tests.integration.tickets.factories import make_ticket
from tests.support import count_statements
from tickets.models import format_number

LIVE = "/konsole/aktuell?queue=accounting"


def _agent(app, runtime, **values):
    client = app.test_client()
    sign_in(client, make_staff(runtime, "agent", queues=("accounting",), **values).email)
    return client


def test_the_fragment_holds_the_counters_and_rows_the_page_shows(app, runtime):
    number = format_number(make_ticket(runtime, subject="Zugang gesperrt seit heute"))
    agent = _agent(app, runtime)

    page = agent.get("/konsole?queue=accounting").get_data(as_text=True)
    fragment = agent.get(LIVE)
    html = fragment.get_data(as_text=True)

    assert fragment.status_code == 200
    assert fragment.headers["ETag"]
    assert "no-cache" in fragment.headers["Cache-Control"]
    assert 'id="queue-counts"' in html and 'id="ticket-rows"' in html
    assert number in html and "Zugang gesperrt seit heute" in html
    assert 'data-live-url="/konsole/aktuell?queue=accounting"' in page
    rows = html.split('<tbody id="ticket-rows">')[1].split("</tbody>")[0]
    assert rows in page


def test_an_unchanged_list_answers_304_and_a_new_ticket_changes_it(app, runtime):
    make_ticket(runtime)
    agent = _agent(app, runtime)
    etag = agent.get(LIVE).headers["ETag"]

    unchanged = agent.get(LIVE, headers={"If-None-Match": etag})
    number = format_number(make_ticket(runtime, subject="Lizenz gesperrt"))
    changed = agent.get(LIVE, headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert number in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_the_page_hands_its_etag_on_so_the_first_poll_is_a_304(app, runtime):
    make_ticket(runtime)
    agent = _agent(app, runtime)

    page = agent.get("/konsole?queue=accounting").get_data(as_text=True)
    etag = page.split('data-live-etag="')[1].split('"')[0]

    assert agent.get(LIVE, headers={"If-None-Match": etag}).status_code == 304


def test_each_filter_and_each_agent_has_its_own_etag(app, runtime):
    make_ticket(runtime)
    anna, ben = _agent(app, runtime), _agent(app, runtime)

    etag = anna.get(LIVE).headers["ETag"]

    assert anna.get("/konsole/aktuell?queue=accounting&sort=created").headers["ETag"] != etag
    assert ben.get(LIVE, headers={"If-None-Match": etag}).status_code == 200


def test_a_poll_costs_the_same_statements_for_3_and_30_tickets_and_a_304_no_list(app, runtime):
    agent = _agent(app, runtime)
    for _ in range(3):
        make_ticket(runtime)
    few, _ = count_statements(runtime.db.engine, lambda: agent.get(LIVE))
    for _ in range(27):
        make_ticket(runtime)
    many, response = count_statements(runtime.db.engine, lambda: agent.get(LIVE))
    etag = response.headers["ETag"]
    unchanged, answer = count_statements(
        runtime.db.engine, lambda: agent.get(LIVE, headers={"If-None-Match": etag})
    )

    assert few == many
    assert answer.status_code == 304
    assert unchanged < many - 1  # neither the counters' nor the list's queries ran


def test_only_staff_agents_get_the_fragment(app, runtime):
    customer = app.test_client()
    sign_in(customer, make_customer(runtime, make_customer_account(runtime)).email)
    ops = app.test_client()
    sign_in(ops, make_staff(runtime, "ops").email)

    assert app.test_client().get(LIVE).status_code in (302, 401)
    assert customer.get(LIVE).status_code == 403
    assert ops.get(LIVE).status_code == 403
