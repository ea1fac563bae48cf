"""Every page each role reaches by clicking, on data holding every value: German words only,
and buttons in the site's style."""

from __future__ import annotations

import re
from pprint import pformat
from urllib.parse import urldefrag, urlsplit

from accounts.demo import DEMO_PASSWORD
from tests.integration.accounts.factories import make_staff, sign_in
from tests.integration.pages.visible import raw_words, read_html

DEMO_PASSWORD_ROLES = {
    "owner": "kunde@mueller-handel.example",
    "tickets_only": "technik@mueller-handel.example",
    "agent": "agent-support@support.example.com",
    "supervisor": "supervisor@support.example.com",
    "ops": "ops@support.example.com",
}
# Links a walk must not follow: signing out ends the walk's session; downloads are not pages.
SKIPPED = ("/abmelden", "/static/", "/api/", "/healthz")
PAGE_LIMIT = 120
# Pages reached through a form rather than a link; each role's own rule decides if it may.
START_PAGES = ("/verwaltung/konten/10001",)
# Buttons follow one style on every page: one of the site's button classes.
BUTTON = re.compile(r"<button\b[^>]*>")
STYLED = re.compile(r'class="[^"]*\b(primary|secondary|danger|link)\b')


def _walk(client) -> tuple[set[str], dict[str, set[str]]]:
    """Follow every link from the start page: the pages seen, and per page the raw words."""
    queue, seen, findings = ["/", *START_PAGES], set(), {}
    while queue and len(seen) < PAGE_LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, follow_redirects=True)
        if path in START_PAGES and response.status_code == 403:
            continue
        assert response.status_code < 400, (path, response.status_code)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        text, links = read_html(html)
        unstyled = {button for button in BUTTON.findall(html) if not STYLED.search(button)}
        if words := raw_words(text) | unstyled:
            findings[path] = words
        for link in links:
            target = urldefrag(link).url
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIPPED):
                continue
            queue.append(target)
    return seen, findings


def test_every_page_each_role_reaches_speaks_german(app, runtime, demo):
    findings, reached = {}, {}
    for role, email in DEMO_PASSWORD_ROLES.items():
        client = app.test_client()
        sign_in(client, email, DEMO_PASSWORD)
        reached[role], findings[role] = _walk(client)
    admin = app.test_client()
    sign_in(admin, make_staff(runtime, "admin").email)
    reached["admin"], findings["admin"] = _walk(admin)
    # The walk saw what matters: tickets, their history, the mailing pages, an account.
    assert {"/tickets/HD-000003", "/tickets/HD-000007"} <= reached["tickets_only"]
    assert {"/konsole/tickets/HD-000005", "/verwaltung/konten/10001"} <= reached["agent"]
    assert {"/ops/mailings/1", "/ops/mailings/1/fortschritt"} <= reached["ops"]

    offending = {role: pages for role, pages in findings.items() if pages}
    assert offending == {}, pformat(offending)
