"""Prometheus metrics at ``GET /metrics``: what every process of the host counted, and gauges.

Counters and histograms use prometheus_client's multi-process mode: each web and worker
process writes its values to a file in ``METRICS_DIR``, and a scrape sums the files. Every
metric has labels, so its values are only created on first use, after ``configure`` has chosen
the directory. Gauges (rows per state, queue depths) are read at scrape time by the collectors
that domain packages register with ``register_gauges``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from rq import Worker

from helpdesk.broker import QUEUE_NAMES
from helpdesk.config import Settings
from helpdesk.runtime import Runtime
from helpdesk.security import public

GaugeCollector = Callable[[Runtime], Iterable[Metric]]

_directory: Path | None = None


def configure(directory: Path) -> None:
    """Count into ``directory`` from now on; a process keeps the first directory it was given.

    Call it at process start, before anything is counted: a value counted earlier stays in
    this process's memory and is never scraped.
    """
    global _directory
    if _directory is not None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()
    _directory = directory


def counter(name: str, documentation: str, labels: Sequence[str]) -> Counter:
    """A counter summed over the host's processes; ``labels`` must not be empty."""
    if not labels:
        raise ValueError("multi-process metrics need labels, so values exist only after configure")
    return Counter(name, documentation, labels, registry=None)


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    """A gauge family for a scrape-time collector."""
    return GaugeMetricFamily(name, documentation, labels=list(labels))


REQUEST_SECONDS = Histogram(
    "helpdesk_http_request_duration_seconds",
    "Time from the request's arrival to its response, per endpoint group (the blueprint)",
    ["group", "method", "status"],
    registry=None,
)


def register_gauges(app: Flask, name: str, collector: GaugeCollector) -> None:
    """Add a domain's scrape-time gauges (like ``health.register`` adds a check)."""
    app.extensions.setdefault("metric_gauges", {})[name] = collector


def init_app(app: Flask, settings: Settings) -> None:
    """Serve ``/metrics`` and time every request; call before other before-request hooks."""
    configure(settings.metrics_dir)
    app.register_blueprint(blueprint)
    app.before_request(_start_timer)
    app.after_request(_observe)
    register_gauges(app, "rq", rq_gauges)


def rq_gauges(runtime: Runtime) -> Iterable[Metric]:
    """Jobs waiting and failed per queue, and the workers with a live heartbeat."""
    queued = gauge("helpdesk_rq_queue_jobs", "Jobs waiting in the RQ queue", ["queue"])
    failed = gauge("helpdesk_rq_failed_jobs", "Jobs in the RQ queue's failed registry", ["queue"])
    for name in QUEUE_NAMES:
        queue = runtime.queue(name)
        queued.add_metric([name], queue.count)
        failed.add_metric([name], queue.failed_job_registry.count)
    workers = gauge("helpdesk_rq_workers", "RQ workers with a live heartbeat")
    workers.add_metric([], len(Worker.all(connection=runtime.redis)))
    return [queued, failed, workers]


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is not None:
        REQUEST_SECONDS.labels(
            request.blueprint or "none", request.method, str(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


class _ScrapeTimeGauges:
    def __init__(self, runtime: Runtime, collectors: Iterable[GaugeCollector]) -> None:
        self.runtime = runtime
        self.collectors = list(collectors)

    def collect(self) -> Iterable[Metric]:
        for collector in self.collectors:
            yield from collector(self.runtime)


def exposition(runtime: Runtime, collectors: Iterable[GaugeCollector]) -> bytes:
    """The text format: every process's counters and histograms, then the gauges."""
    if _directory is None:
        raise RuntimeError("metrics.configure() was not called in this process")
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(_directory))
    registry.register(_ScrapeTimeGauges(runtime, collectors))
    return generate_latest(registry)


blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
@public("answers only to the bearer token METRICS_TOKEN; 404 while none is configured")
def scrape() -> Response:
    runtime: Runtime = current_app.extensions["runtime"]
    token = runtime.settings.metrics_token
    if not token:
        abort(404)
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        # 403, not 401: no sign-in helps here, only the configured token.
        return Response("the bearer token METRICS_TOKEN is required\n", 403)
    body = exposition(runtime, current_app.extensions.get("metric_gauges", {}).values())
    return Response(body, content_type=CONTENT_TYPE_LATEST)
