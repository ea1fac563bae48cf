"""/healthz reports every part by name."""

from __future__ import annotations

from rq import SimpleWorker


def test_healthz_is_503_and_names_the_worker_when_none_runs(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["worker"]
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["smtp"]["ok"] and body["checks"]["routing_rules"]["ok"]


def test_healthz_is_200_with_a_live_worker(client, runtime):
    worker = SimpleWorker([runtime.queue("mail")], connection=runtime.redis)
    worker.register_birth()
    try:
        response = client.get("/healthz")
    finally:
        worker.register_death()

    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
