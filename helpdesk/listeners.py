"""Listening sockets bound once and served as bound: no other program can take a port between a
probe and the server's own bind, and a taken port is one clear line rather than a crash."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from typing import Any

from aiosmtpd.controller import Controller


class PortTaken(Exception):
    """The port a server should listen on is in use by another program."""


def listen(host: str, port: int, variable: str) -> socket.socket:
    """A socket bound to ``host:port``, inheritable so a child can serve it; ``variable`` names
    the setting that picks another port, for the one line a taken port gives."""
    listener = socket.socket(_family(host))
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise PortTaken(
            f"port {port} is taken ({error.strerror}); start with {variable}=<free port>"
        ) from None
    listener.listen(128)
    listener.set_inheritable(True)
    return listener


def listen_preferring(host: str, port: int) -> socket.socket:
    """``port`` if it is free, else any free port; bound and held, never only probed."""
    try:
        return listen(host, port, "")
    except PortTaken:
        return listen(host, 0, "")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class SocketController(Controller):
    """aiosmtpd's threaded controller serving a socket that is already bound (here or by the
    parent process that handed it over) instead of binding its own."""

    def __init__(self, handler: Any, listener: socket.socket, **kwargs: Any) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self.listener = listener

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(
            self._factory_invoker, sock=self.listener, ssl=self.ssl_context
        )
