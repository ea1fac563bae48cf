"""A value compiled from a file, picked up again when the file changes; a bad file never goes live.

The one hot-reload policy (routing rules, SLA policies). ``current()`` costs a clock read, and
at most once per ``check_interval`` a ``stat()``; only when the file's size, mtime, inode or
ctime changed is it read, and only when its bytes changed is it compiled. A file that cannot be
read or does not compile never replaces the live value: the old one stays, the problem is
logged once, and ``status()`` reports the value as stale until a good file replaces it. A file
that is unusable when the holder is created raises SourceError: a process does not start on it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from helpdesk.yamlsource import Problem, SourceError, fingerprint, read_source

log = logging.getLogger(__name__)

T = TypeVar("T")
Compile = Callable[[bytes, Path], T]


class LiveFile(Generic[T]):
    """Hot-reloading holder of what ``compile`` makes of a file, safe to share between threads."""

    def __init__(
        self, path: str | Path, compile: Compile[T], *, what: str, check_interval: float = 1.0
    ) -> None:
        """Compile the file now; raise SourceError if it is unusable."""
        self.path = Path(path)
        self.what = what
        self.check_interval = check_interval
        self._compile = compile
        self._lock = threading.Lock()
        self._error: Problem | None = None
        self._rejected_version: str | None = None
        self._signature = self._stat()
        text = read_source(self.path)
        self._value = compile(text, self.path)
        self._version = fingerprint(text)
        self._checked_at = time.monotonic()

    def current(self) -> T:
        """The live value, recompiled first if the file changed since the last look."""
        self._look()
        return self._value

    def status(self) -> dict[str, Any]:
        """For /healthz: the live version, and whether a newer file was rejected, and why."""
        self._look()
        error = self._error
        return {
            "ok": error is None,
            "path": str(self.path),
            "version": self._version,
            "stale": error is not None,
            "error": None if error is None else str(error),
        }

    def _look(self) -> None:
        """Reload if the file changed, looking at most once per ``check_interval``."""
        if time.monotonic() - self._checked_at < self.check_interval:
            return
        # One thread reloads; the others keep working with the value they have.
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._checked_at = time.monotonic()
            signature = self._stat()
            if signature != self._signature:
                self._signature = signature
                self._reload()
        finally:
            self._lock.release()

    def _reload(self) -> None:
        try:
            text = read_source(self.path)
        except SourceError as error:
            self._reject(error.problems, None)
            return
        version = fingerprint(text)
        if version == self._version:
            self._error = None  # changed back to (or touched without changing) the live file
            return
        if version == self._rejected_version:
            return  # the same bad bytes again: rejected and logged already
        try:
            value = self._compile(text, self.path)
        except SourceError as error:
            self._reject(error.problems, version)
            return
        log.info("%s %s replaced %s", self.what, version, self._version)
        self._value, self._version, self._error = value, version, None

    def _reject(self, problems: list[Problem], version: str | None) -> None:
        log.error(
            "%s kept at %s, new file rejected:\n%s",
            self.what,
            self._version,
            "\n".join(str(problem) for problem in problems),
        )
        self._error = problems[0]
        self._rejected_version = version

    def _stat(self) -> tuple[int, ...] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns)


class LiveFiles(Generic[T]):
    """One LiveFile per path for the whole process: the registry a domain keeps its files in."""

    def __init__(self, compile: Compile[T], *, what: str) -> None:
        self._compile = compile
        self.what = what
        self._lock = threading.Lock()
        self._files: dict[Path, LiveFile[T]] = {}

    def get(self, path: Path) -> LiveFile[T]:
        """The holder of ``path``, created (and the file compiled) on first use."""
        with self._lock:
            live = self._files.get(path)
            if live is None:
                live = self._files[path] = LiveFile(path, self._compile, what=self.what)
            return live
