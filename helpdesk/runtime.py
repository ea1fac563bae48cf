"""The per-process runtime: settings, database and Redis, created once and shared.

The web app and every worker process hold one. Jobs reach it through ``current()`` so that
they can take plain ids as arguments, as RQ jobs should.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from flask import current_app, has_app_context

from helpdesk import broker
from helpdesk.config import Settings, load_settings
from helpdesk.db import Database
from helpdesk.migrate import model_metadata

if TYPE_CHECKING:
    import redis
    from rq import Queue

    from helpdesk.dkimkeys import DkimKey


@dataclass
class Runtime:
    settings: Settings
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        model_metadata()  # every mapper known before the first query resolves foreign keys
        self.db = Database(self.settings.database_url)

    @cached_property
    def redis(self) -> redis.Redis:
        return broker.connect(self.settings)

    @cached_property
    def dkim_keys(self) -> tuple[DkimKey, DkimKey]:
        from helpdesk.dkimkeys import load_keys

        return load_keys(self.settings)

    def queue(self, name: str = "default") -> Queue:
        return broker.queue(self.redis, name)


_lock = threading.Lock()
_current: Runtime | None = None


def current() -> Runtime:
    """The runtime of the app handling this request, else the process's, built on first use.

    Views, jobs and commands all reach settings, database and Redis through this one accessor.
    """
    if has_app_context():
        return current_app.extensions["runtime"]
    global _current
    with _lock:
        if _current is None:
            _current = Runtime(load_settings())
        return _current


def install(runtime: Runtime) -> Runtime:
    """Make ``runtime`` the process's runtime (the app factory and tests do this)."""
    global _current
    with _lock:
        _current = runtime
    return runtime
