"""/healthz reports every part by name."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime

from rq import SimpleWorker

from helpdesk.app import create_app
from helpdesk.config import PROJECT_ROOT
from tests.support import wait_until
from tickets.sla.live import current_policies


def test_healthz_is_503_and_names_the_worker_when_none_runs(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["worker"]
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["smtp"]["ok"] and body["checks"]["routing_rules"]["ok"]
    assert body["checks"]["sla_policies"]["ok"]


def test_healthz_is_200_with_a_live_worker(client, runtime):
    worker = SimpleWorker([runtime.queue("mail")], connection=runtime.redis)
    worker.register_birth()
    try:
        response = client.get("/healthz")
    finally:
        worker.register_death()

    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_a_broken_sla_policy_file_keeps_the_policies_and_healthz_names_the_line(settings, tmp_path):
    policy_file = tmp_path / "sla_policies.yaml"
    shutil.copyfile(PROJECT_ROOT / "sla_policies.yaml", policy_file)
    app = create_app(replace(settings, sla_policies_path=policy_file))
    client = app.test_client()
    filed = datetime(2026, 6, 15, 9, tzinfo=UTC)
    due = current_policies(policy_file).due("Community", "normal", filed)

    text = policy_file.read_text()
    policy_file.write_text(text.replace("first_response: 2d", "first_response: 2 days", 1))

    def sla_check() -> dict:
        return client.get("/healthz").get_json()["checks"]["sla_policies"]

    try:
        wait_until(lambda: not sla_check()["ok"], what="the SLA policies reported stale")
        line = text[: text.index("first_response: 2d")].count("\n") + 1
        assert sla_check()["error"].startswith(f"{policy_file}:{line}:")
        assert "'2 days' is not a duration" in sla_check()["error"]
        assert current_policies(policy_file).due("Community", "normal", filed) == due
    finally:
        app.extensions["runtime"].db.dispose()
