"""The rules a running process routes with, picked up again when the file changes.

Each process (web worker, RQ worker) holds one LiveRules. ``current()`` costs a clock read,
and at most once per ``check_interval`` a ``stat()``; only when the file's size, mtime or inode
changed is it read, hashed and compiled. A file that does not compile never replaces the live
rules: the old ones stay, the problem is logged, and ``status()`` reports the rules as stale.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from tickets.routing.engine import RuleSet
from tickets.routing.rules import compile_rules, rules_version
from tickets.routing.source import Problem, RulesError

log = logging.getLogger(__name__)


class LiveRules:
    """Hot-reloading holder of a RuleSet, safe to share between threads."""

    def __init__(self, path: str | Path, *, check_interval: float = 1.0) -> None:
        """Load the rules now; raise RulesError if the file is unusable at start-up."""
        self.path = Path(path)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._error: Problem | None = None
        self._signature = self._stat()
        try:
            text = self.path.read_bytes()
        except OSError as error:
            raise RulesError(
                [Problem(str(self.path), 1, 1, f"cannot read: {error.strerror}")]
            ) from None
        self._rules = compile_rules(text, self.path)
        self._checked_at = time.monotonic()

    def current(self) -> RuleSet:
        """The live rules, reloaded first if the file changed since the last look."""
        if time.monotonic() - self._checked_at >= self.check_interval:
            self._refresh()
        return self._rules

    def status(self) -> dict[str, Any]:
        """For /healthz: the live version, and whether a newer file was rejected, and why."""
        error = self._error
        return {
            "path": str(self.path),
            "version": self._rules.version,
            "stale": error is not None,
            "error": None if error is None else str(error),
        }

    def _refresh(self) -> None:
        # One thread reloads; the others keep routing with the rules they have.
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._checked_at = time.monotonic()
            signature = self._stat()
            if signature == self._signature:
                return
            self._reload(signature)
        finally:
            self._lock.release()

    def _reload(self, signature: tuple[int, ...] | None) -> None:
        try:
            text = self.path.read_bytes()
        except OSError as error:
            self._reject(Problem(str(self.path), 1, 1, f"cannot read: {error.strerror}"))
            return
        self._signature = signature
        if rules_version(text) == self._rules.version:
            self._error = None  # changed back to (or touched without changing) the live file
            return
        try:
            rules = compile_rules(text, self.path)
        except RulesError as error:
            self._reject(error.problems[0])
            for problem in error.problems[1:]:
                log.error("routing rules: %s", problem)
            return
        log.info("routing rules %s replaced %s", rules.version, self._rules.version)
        self._rules = rules
        self._error = None

    def _reject(self, problem: Problem) -> None:
        log.error("routing rules kept at %s, new file rejected: %s", self._rules.version, problem)
        self._error = problem

    def _stat(self) -> tuple[int, ...] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns)
