"""Log lines: text for `make run`, one JSON object per line for production's log systems.

Every line carries the process (web, worker, mail-in, cli) and what the code is working on,
bound with ``bind`` or ``bound``: the request id in the web app, the job id in a worker, the
ticket number or mailing id where one applies. Secrets are never passed to a logger; request
lines name the route pattern (``/passwort/neu/<token>``), never the path that was called.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, Response, g, request

from helpdesk.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
CONTEXT_FIELDS = ("request_id", "job_id", "job", "ticket", "mailing_id", "outbound_id", "mailbox")

_context: ContextVar[dict[str, Any]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated
log = logging.getLogger("helpdesk.requests")


def bind(**fields: Any) -> None:
    """Add ``fields`` to every line logged from here to the end of the current unit of work."""
    _context.set({**_context.get(), **fields})


@contextmanager
def scope(**fields: Any) -> Iterator[None]:
    """One unit of work (a job, an incoming message): lines inside carry ``fields`` only."""
    token = _context.set(dict(fields))
    try:
        yield
    finally:
        _context.reset(token)


class _ContextFilter(logging.Filter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get()
        record.process_name = self.process
        record.fields = fields
        record.context = "".join(f" {key}={fields[key]}" for key in CONTEXT_FIELDS if key in fields)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, process, context, exception.

    ``process`` names lines that come without one (gunicorn's own, deploy/gunicorn-logging.json).
    """

    def __init__(self, process: str | None = None) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": getattr(record, "process_name", self.process),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _StandardError(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (click's runner swaps it per command)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """The stream is always the current standard error."""


def handler(log_format: str, process: str, stream: TextIO | None = None) -> logging.Handler:
    """Lines in ``log_format`` (text or json) to ``stream``, by default standard error."""
    target = _StandardError() if stream is None else logging.StreamHandler(stream)
    target.addFilter(_ContextFilter(process))
    if log_format == "json":
        target.setFormatter(JsonFormatter())
    else:
        target.setFormatter(logging.Formatter(TEXT_FORMAT))
    return target


def setup(settings: Settings, process: str) -> None:
    """Send every log line of this process to standard error in the configured form."""
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, "helpdesk", False)]:
        root.removeHandler(previous)
    installed = handler(settings.log_format, process)
    installed.helpdesk = True  # type: ignore[attr-defined]
    root.addHandler(installed)
    root.setLevel(settings.log_level)


def init_app(app: Flask) -> None:
    """A request id per request (the proxy's ``X-Request-ID`` when it is sane) on every line."""
    app.before_request(_start_request)
    app.after_request(_log_request)
    app.teardown_request(_end_request)


def _start_request() -> None:
    offered = request.headers.get("X-Request-ID", "")
    request_id = offered if REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    g.log_context = _context.set({"request_id": request_id})
    g.log_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    fields = _context.get()
    if "request_id" in fields:
        response.headers["X-Request-ID"] = fields["request_id"]
    started = g.pop("log_started", None)
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        log.info(
            "%s %s %s %.0f ms",
            request.method,
            route,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
    return response


def _end_request(_error: BaseException | None) -> None:
    token = g.pop("log_context", None)  # g outlives the request inside an outer app context
    if token is not None:
        _context.reset(token)
