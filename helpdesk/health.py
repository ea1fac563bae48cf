"""``GET /healthz``: database, Redis, worker, SMTP and the live rules and policies at a glance."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify
from rq import Worker
from sqlalchemy import text

from helpdesk.runtime import Runtime, current
from helpdesk.security import public

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public("load balancers and operators probe it; it reveals no data")
def healthz() -> Any:
    runtime: Runtime = current()
    checks = {
        "database": _check(lambda: _database(runtime)),
        "redis": _check(lambda: _redis(runtime)),
        "worker": _check(lambda: _worker(runtime)),
        "smtp": _check(lambda: _smtp(runtime)),
    }
    for name, probe in current_app.extensions.get("health_checks", {}).items():
        checks[name] = _check(lambda probe=probe: probe(runtime))
    down = [name for name, check in checks.items() if not check["ok"]]
    status = 503 if down else 200
    return jsonify({"status": "down" if down else "ok", "down": down, "checks": checks}), status


def _check(probe: Any) -> dict[str, Any]:
    try:
        detail = probe()
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    if isinstance(detail, dict) and detail.get("ok") is False:
        return detail
    return {"ok": True, **(detail if isinstance(detail, dict) else {})}


def _database(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _redis(runtime: Runtime) -> None:
    runtime.redis.ping()


def _worker(runtime: Runtime) -> dict[str, Any]:
    workers = Worker.all(connection=runtime.redis)
    if not workers:
        return {"ok": False, "error": "no RQ worker has a live heartbeat"}
    return {"workers": len(workers)}


def _smtp(runtime: Runtime) -> None:
    parts = urlsplit(runtime.settings.smtp_url)
    default_port = 465 if parts.scheme == "smtps" else 25
    with socket.create_connection((parts.hostname, parts.port or default_port), timeout=3):
        pass


def register(app: Flask, name: str, probe: Callable[[Runtime], dict[str, Any] | None]) -> None:
    """Add a domain's check; a probe returns details, ``{"ok": False, ...}`` or raises."""
    app.extensions.setdefault("health_checks", {})[name] = probe
