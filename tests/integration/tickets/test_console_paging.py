"""The console's queue list pages by cursor: every ticket once, however deep the page."""

from __future__ import annotations

import html
import re

from tests.integration.accounts.factories import make_staff, sign_in
from tests.integration.tickets.factories import make_ticket
from tickets.listing import PAGE_SIZE
from tickets.models import format_number

MORE = re.compile(r'<a href="([^"]+)">Weitere Tickets</a>')


def test_following_the_more_link_walks_the_whole_queue_past_the_second_page(app, runtime):
    filed = {format_number(make_ticket(runtime)) for _ in range(2 * PAGE_SIZE + 1)}
    client = app.test_client()
    sign_in(client, make_staff(runtime, "agent", queues=("accounting",)).email)

    seen: list[str] = []
    pages = 0
    path: str | None = "/konsole?queue=accounting"
    while path is not None:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        listed = page.split('<table id="ticket-list">')[1].split("</table>")[0]
        seen.extend(dict.fromkeys(re.findall(r"HD-\d{6}", listed)))
        pages += 1
        link = MORE.search(page)
        path = html.unescape(link.group(1)) if link else None

    assert pages == 3
    assert sorted(seen) == sorted(filed)
