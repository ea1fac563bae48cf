"""/healthz reports every part by name, and sees workers again after Redis restarts empty."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import redis
from rq import SimpleWorker

from helpdesk.app import create_app
from helpdesk.config import PROJECT_ROOT
from tests.support import EmbeddedRedis, wait_until
from tickets.sla.live import current_policies

HELPDESK = Path(sys.executable).parent / "helpdesk"


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


def test_a_worker_is_reported_alive_again_within_a_minute_after_redis_restarts_empty(
    settings, cli_env, tmp_path
):
    directory = tmp_path / "redis"
    server = EmbeddedRedis(directory).start()
    client = create_app(replace(settings, redis_url=server.url)).test_client()
    log = tmp_path / "worker.log"

    def worker_alive() -> bool:
        return client.get("/healthz").get_json()["checks"]["worker"]["ok"]

    with log.open("ab") as output:
        worker = subprocess.Popen(
            [HELPDESK, "worker"],
            env={**os.environ, **cli_env, "REDIS_URL": server.url},
            stdout=output,
            stderr=output,
        )
    try:
        wait_until(worker_alive, timeout=60, what="the worker's first registration")
        redis.Redis.from_url(server.url).set("before-the-restart", "1")
        server.stop()  # removes its directory: the new server starts empty
        server = EmbeddedRedis(directory).start()
        assert redis.Redis.from_url(server.url).get("before-the-restart") is None

        wait_until(worker_alive, timeout=60, what="the worker registered again")
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- worker log ---\n{log.read_text()}") from error
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.stop()

    assert "registered again" in log.read_text()
