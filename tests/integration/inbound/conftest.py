"""Doors for the mail-in tests: the pipe command run by click, and a real LMTP server."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.config import Settings
from helpdesk.runtime import Runtime
from tests.support import free_port
from tickets.inbound.lmtp import start_server


@dataclass(frozen=True)
class Delivered:
    exit_code: int
    outcome: dict
    stderr: str


@pytest.fixture
def deliver(cli_env: dict[str, str], runtime: Runtime) -> Callable[..., Delivered]:
    """`helpdesk mail-in deliver [ARGS] < raw`, as a pipe transport runs it."""

    def run(raw: bytes, *args: str, env: dict[str, str] | None = None) -> Delivered:
        result = CliRunner().invoke(
            main, ["mail-in", "deliver", *args], input=raw, env={**cli_env, **(env or {})}
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        return Delivered(result.exit_code, json.loads(lines[-1]) if lines else {}, result.stderr)

    return run


@dataclass(frozen=True)
class LmtpServer:
    host: str
    port: int

    def client(self) -> smtplib.LMTP:
        client = smtplib.LMTP(self.host, self.port, timeout=30)
        client.ehlo_or_helo_if_needed()
        return client

    def send(self, raw: bytes, recipients: list[str], sender: str = "kunde@example.com"):
        """One transaction; LMTP answers DATA once per accepted recipient: read them all."""
        client = self.client()
        try:
            client.mail(sender)
            accepted = []
            refused = {}
            for recipient in recipients:
                code, text = client.rcpt(recipient)
                if code == 250:
                    accepted.append(recipient)
                else:
                    refused[recipient] = (code, text.decode())
            replies = []
            if accepted:
                code, _ = client.docmd("DATA")
                assert code == 354
                client.send(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
                for _ in accepted:
                    code, text = client.getreply()
                    replies.append((code, text.decode()))
            return replies, refused
        finally:
            client.quit()


def serve_lmtp(settings: Settings, **overrides: object) -> Iterator[LmtpServer]:
    runtime = Runtime(replace(settings, **overrides))
    port = free_port()
    controller = start_server(runtime, "127.0.0.1", port)
    yield LmtpServer("127.0.0.1", port)
    controller.stop()
    runtime.db.dispose()


@pytest.fixture
def lmtp(settings: Settings, runtime: Runtime) -> Iterator[LmtpServer]:
    yield from serve_lmtp(settings)
