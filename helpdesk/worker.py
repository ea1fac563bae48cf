"""The RQ worker process: its scheduler for delayed jobs and retries, and periodic jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, worker_registration
from rq.executions import Execution
from rq.job import Job

from helpdesk import broker, logs
from helpdesk.runtime import Runtime, install

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A job enqueued every ``interval`` seconds by exactly one of the running workers."""

    name: str
    function: Callable[[], object]
    interval: int
    queue: str = "default"
    at_start: bool = False  # also once when a worker starts, to catch up on what it missed


def run_worker(
    runtime: Runtime,
    queues: tuple[str, ...],
    periodic: Sequence[Periodic] = (),
    *,
    burst: bool = False,
) -> bool:
    """Work the queues until stopped (or, with ``burst``, until they are empty).

    SimpleWorker runs jobs in this process: no fork per job, and the database pool and SMTP
    keys stay warm between jobs. Jobs are short and idempotent, so a crash loses nothing that
    the outbox sweep does not bring back.
    """
    install(runtime)
    stop = threading.Event()
    connection = broker.connect(runtime.settings, wait_out_restarts=True)
    work_queues = [broker.queue(connection, name) for name in queues]
    worker = Worker(work_queues, connection=connection)
    if not burst:
        for job in periodic:
            if job.at_start:
                runtime.queue(job.queue).enqueue(job.function, job_timeout=job.interval)
        threading.Thread(
            target=_keep_up,
            args=(runtime, worker, periodic, stop),
            name="periodic",
            daemon=True,
        ).start()
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()


class Worker(SimpleWorker):
    """RQ's SimpleWorker; every line a job logs carries the job's id and function."""

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        with logs.scope(job_id=job.id, job=job.func_name):
            return super().perform_job(job, queue, execution)


def _keep_up(
    runtime: Runtime, worker: SimpleWorker, periodic: Sequence[Periodic], stop: threading.Event
) -> None:
    while not stop.wait(timeout=5):
        _register_again_if_forgotten(worker)
        for job in periodic:
            _enqueue_if_due(runtime, job)


def _register_again_if_forgotten(worker: SimpleWorker) -> None:
    """Put the worker back in Redis's worker registry after Redis lost its data.

    RQ registers a worker once, at birth; after Redis restarts empty its heartbeat only sets a
    timestamp, so the worker would stay missing from ``Worker.all`` (and ``/healthz``) until
    restarted. A worker that registered its death keeps its birth field and is left alone.
    """
    if worker.birth_date is None:
        return  # not born yet: RQ registers it itself
    try:
        if worker.connection.hexists(worker.key, "birth"):
            return
        with worker.connection.pipeline() as pipeline:
            pipeline.hset(worker.key, mapping=worker.serialize())
            worker_registration.register(worker, pipeline)
            pipeline.expire(worker.key, worker.worker_ttl + 60)
            pipeline.execute()
    except RedisError:
        log.exception("worker %s: could not check its registration; next try in 5 s", worker.name)
        return
    log.warning("worker %s: registered again; Redis had lost its registration", worker.name)


def _enqueue_if_due(runtime: Runtime, job: Periodic) -> None:
    # One Redis key per job with the interval as its lifetime: whichever worker sets it first
    # enqueues; the others see it taken until the interval has passed.
    try:
        if runtime.redis.set(f"helpdesk:periodic:{job.name}", "1", nx=True, ex=job.interval):
            runtime.queue(job.queue).enqueue(job.function, job_timeout=job.interval)
    except RedisError:
        log.exception("periodic job %s not enqueued; next try in 5 s", job.name)
