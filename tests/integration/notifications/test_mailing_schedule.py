"""Scheduled mailings: the database holds the schedule; worker and Redis restarts lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from click.testing import CliRunner
from rq import Worker

from helpdesk.cli import main
from helpdesk.db import utcnow
from notifications.mailings import dispatch
from notifications.mailings import services as mailing_services
from tests.integration.accounts.factories import csrf_token, make_staff, sign_in, token_for
from tests.integration.notifications.factories import make_account, make_mailing
from tests.support import wait_until

HELPDESK = Path(sys.executable).parent / "helpdesk"
BERLIN = ZoneInfo("Europe/Berlin")


def _worker(cli_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A worker in a process group of its own, with the scheduler process RQ forks for it."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [HELPDESK, "worker", "--queue", "mail"],
            env={**os.environ, **cli_env},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )


def test_scheduled_mailing_starts_after_the_worker_and_redis_were_restarted(
    runtime, smtp_sink, cli_env, tmp_path
):
    make_account(runtime, first_contact="info@geplant.example")
    mailing_id = make_mailing(runtime)
    at = (utcnow() + timedelta(seconds=6)).astimezone(BERLIN).replace(tzinfo=None)
    scheduled = CliRunner(env=cli_env).invoke(
        main, ["mailings", "schedule", str(mailing_id), "--at", at.isoformat(timespec="seconds")]
    )
    assert scheduled.exit_code == 0, scheduled.output

    first = _worker(cli_env, tmp_path / "worker.log")
    try:
        wait_until(lambda: Worker.all(connection=runtime.redis), timeout=30, what="first worker")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # as a service manager kills a unit: scheduler too
        first.wait(timeout=10)
    assert mailing_services.get_mailing(runtime, mailing_id).state == "draft"
    redis.Redis.from_url(runtime.settings.redis_url).flushdb()  # as if Redis had restarted empty
    wait_until(lambda: utcnow() >= at.replace(tzinfo=BERLIN), timeout=30, what="the time")

    second = _worker(cli_env, tmp_path / "worker.log")
    try:
        wait_until(lambda: len(smtp_sink.received) == 1, timeout=60, what="the scheduled mail")
    finally:
        second.terminate()
        second.wait(timeout=30)

    assert smtp_sink.received[0].rcpt_tos == ("info@geplant.example",)
    assert mailing_services.get_mailing(runtime, mailing_id).started_at >= at.replace(tzinfo=BERLIN)


def test_ops_schedule_in_german_time_see_it_listed_and_cancel_it_before_it_starts(
    client, runtime, work, smtp_sink
):
    make_account(runtime, first_contact="info@abgesagt.example")
    mailing_id = make_mailing(runtime)
    sign_in(client, make_staff(runtime, "ops").email)
    token = csrf_token(client, f"/ops/mailings/{mailing_id}")

    client.post(
        f"/ops/mailings/{mailing_id}/schedule",
        data={"csrf_token": token, "zeitpunkt": "2099-12-01T08:00"},
    )

    mailing = mailing_services.get_mailing(runtime, mailing_id)
    assert mailing.scheduled_at.isoformat() == "2099-12-01T07:00:00+00:00"
    assert "geplant für 01.12.2099 08:00 Uhr" in client.get("/ops/mailings").get_data(as_text=True)
    client.post(f"/ops/mailings/{mailing_id}/cancel", data={"csrf_token": token})
    dispatch.tick(runtime, now=mailing.scheduled_at + timedelta(minutes=1))
    work()
    assert mailing_services.get_mailing(runtime, mailing_id).state == "cancelled"
    assert smtp_sink.received == []


def test_a_time_in_the_past_is_refused(runtime, cli_env):
    mailing_id = make_mailing(runtime)

    result = CliRunner(env=cli_env).invoke(
        main, ["mailings", "schedule", str(mailing_id), "--at", "2020-01-01T08:00"]
    )

    assert result.exit_code == 1
    assert "Vergangenheit" in result.output


def test_ops_test_send_goes_to_the_address_entered_with_the_chosen_account(
    client, runtime, smtp_sink
):
    account = make_account(runtime, first_contact="info@vorschau.example", company="Vorschau KG")
    mailing_id = make_mailing(runtime)
    sign_in(client, make_staff(runtime, "ops").email)
    token = csrf_token(client, f"/ops/mailings/{mailing_id}")

    client.post(
        f"/ops/mailings/{mailing_id}/test",
        data={
            "csrf_token": token,
            "an": "kollegin@agentur.example",
            "konto": account.customer_number,
        },
    )

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("kollegin@agentur.example",)
    assert b"Vorschau KG" in mail.data


def test_api_schedules_in_german_time_and_names_a_bad_time(client, runtime):
    mailing_id = make_mailing(runtime)
    ops = make_staff(runtime, "ops")
    headers = {"Authorization": f"Bearer {token_for(runtime, ops, 'ops')}"}
    url = f"/api/v1/mailings/{mailing_id}/schedule"

    scheduled = client.post(url, json={"at": "2099-07-01T08:00"}, headers=headers)
    malformed = client.post(url, json={"at": "morgen früh"}, headers=headers)

    assert scheduled.get_json()["scheduled_at"] == "2099-07-01T06:00:00+00:00"  # summer time
    assert malformed.status_code == 422 and "at" in malformed.get_json()["errors"]


def test_api_schedule_names_a_body_that_is_no_object_and_a_time_that_is_no_text(client, runtime):
    mailing_id = make_mailing(runtime)
    ops = make_staff(runtime, "ops")
    headers = {"Authorization": f"Bearer {token_for(runtime, ops, 'ops')}"}
    url = f"/api/v1/mailings/{mailing_id}/schedule"

    no_object = client.post(url, json=True, headers=headers)
    no_text = client.post(url, json={"at": 20990701}, headers=headers)

    assert no_object.status_code == 422 and "_body" in no_object.get_json()["errors"]
    assert no_text.status_code == 422 and "at" in no_text.get_json()["errors"]
    assert mailing_services.get_mailing(runtime, mailing_id).scheduled_at is None
