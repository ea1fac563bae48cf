"""The mailing progress page follows the sending without reloading (a fragment with an ETag)."""

from __future__ import annotations

from notifications.mailings import services
from tests.integration.accounts.factories import make_staff, sign_in
from tests.integration.notifications.factories import make_account, make_mailing


def _sending_mailing(runtime) -> int:
    make_account(runtime, first_contact="info@live.example")
    make_account(runtime, first_contact="info@zwei-live.example")
    mailing_id = make_mailing(runtime)
    services.start_sending(runtime, mailing_id, "ops-a@example.com")
    return mailing_id


def test_the_progress_fragment_changes_as_the_worker_sends_and_then_says_done(
    client, runtime, work
):
    mailing_id = _sending_mailing(runtime)
    sign_in(client, make_staff(runtime, "ops").email)
    live = f"/ops/mailings/{mailing_id}/fortschritt/aktuell"

    page = client.get(f"/ops/mailings/{mailing_id}/fortschritt").get_data(as_text=True)
    page_etag = page.split('data-live-etag="')[1].split('"')[0]
    first_poll = client.get(live, headers={"If-None-Match": page_etag})
    before = client.get(live)
    unchanged = client.get(live, headers={"If-None-Match": before.headers["ETag"]})
    work()
    after = client.get(live, headers={"If-None-Match": before.headers["ETag"]})

    assert f'data-live-url="{live}"' in page and 'http-equiv="refresh"' not in page
    assert first_poll.status_code == 304
    assert '<progress max="2" value="0"' in before.get_data(as_text=True)
    assert unchanged.status_code == 304
    assert after.status_code == 200
    html = after.get_data(as_text=True)
    assert '<progress max="2" value="2"' in html and "data-live-done" in html
    finished = client.get(f"/ops/mailings/{mailing_id}/fortschritt").get_data(as_text=True)
    assert "data-live-url" not in finished


def test_only_ops_follow_a_mailing(app, runtime):
    mailing_id = _sending_mailing(runtime)
    agent = app.test_client()
    sign_in(agent, make_staff(runtime, "agent").email)

    assert agent.get(f"/ops/mailings/{mailing_id}/fortschritt/aktuell").status_code == 403
    assert app.test_client().get(f"/ops/mailings/{mailing_id}/fortschritt/aktuell").status_code in (
        302,
        401,
    )
