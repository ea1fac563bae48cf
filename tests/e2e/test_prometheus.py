"""A real Prometheus (Debian's package) scrapes /metrics with the token and loads the alert
rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from helpdesk.config import PROJECT_ROOT
from tests.conftest import METRICS_TOKEN
from tests.integration.tickets.factories import LOCKED_ACCESS, customer_token
from tests.support import free_port, wait_until

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="no prometheus here (Debian's package); test_metrics.py parses the format itself",
)


@pytest.fixture
def served(app) -> Iterator[str]:
    """The app on a real HTTP server, as gunicorn would serve it."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{port}"
    server.shutdown()
    thread.join()


def _api(base: str, path: str, **query: str) -> dict:
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)["data"]
    except OSError:
        return {}


def test_prometheus_scrapes_with_the_token_and_loads_the_alert_rules(
    served, client, runtime, tmp_path
):
    headers = {"Authorization": f"Bearer {customer_token(runtime)}"}
    assert client.post("/api/v1/tickets", json=LOCKED_ACCESS, headers=headers).status_code == 201
    token_file = tmp_path / "token"
    token_file.write_text(METRICS_TOKEN)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # YAML accepts JSON
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(PROJECT_ROOT / "deploy" / "prometheus" / "helpdesk-alerts.yml")],
                "scrape_configs": [
                    {
                        "job_name": "helpdesk",
                        "authorization": {"credentials_file": str(token_file)},
                        "static_configs": [{"targets": [served]}],
                    }
                ],
            }
        )
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def filed() -> list:
            result = _api(base, "query", query='helpdesk_tickets_filed_total{channel="api"}')
            return result.get("result", [])

        def rule_health() -> dict[str, str]:
            groups = _api(base, "rules").get("groups", [])
            return {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}

        wait_until(lambda: filed() != [], timeout=60, what="Prometheus to scrape a ticket count")
        wait_until(
            lambda: set(rule_health().values()) == {"ok"}, timeout=30, what="rules evaluated"
        )
        [up] = _api(base, "query", query='up{job="helpdesk"}')["result"]
        # The test process counts for the whole session: this ticket is one of them.
        counted = {series["metric"]["queue"]: float(series["value"][1]) for series in filed()}
        rules = rule_health()
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)

    assert up["value"][1] == "1"
    assert counted["accounting"] >= 1
    assert {"HelpdeskNoWorker", "HelpdeskMailingBounceRate"} <= set(rules)
