"""CPU time per unit of work: the figure every benchmark prints beside its rates.

Rates depend on how busy the shared machine is; the CPU time the processes involved spend on
one unit of work depends much less on it. ``CpuMeter`` sums user and system time of named
processes between ``start`` and ``stop``; a process named as a tree counts with its
descendants alive at each sample (gunicorn's workers, say). A child that ends inside the
window takes its time with it, so meter only processes that live across the whole window.
"""

from __future__ import annotations

import contextlib
import os

import psutil


def _cpu_seconds(pid: int, tree: bool) -> float:
    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(pid)
        for member in (process, *(process.children(recursive=True) if tree else ())):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = member.cpu_times()
                total += times.user + times.system
    return total


class CpuMeter:
    """CPU seconds spent by each named process between start and stop."""

    def __init__(self, pids: dict[str, int], trees: dict[str, int] | None = None) -> None:
        self.members = {name: (pid, False) for name, pid in pids.items()}
        self.members.update({name: (pid, True) for name, pid in (trees or {}).items()})
        self._started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    @classmethod
    def this_process(cls) -> CpuMeter:
        return cls({"bench": os.getpid()})

    def _sample(self) -> dict[str, float]:
        return {name: _cpu_seconds(pid, tree) for name, (pid, tree) in self.members.items()}

    def start(self) -> CpuMeter:
        self._started = self._sample()
        return self

    def stop(self) -> dict[str, float]:
        ended = self._sample()
        self.seconds = {name: ended[name] - self._started[name] for name in ended}
        return self.seconds

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def ms_per(seconds: float, units: int) -> str:
    """CPU milliseconds per unit, with three significant digits."""
    return f"{seconds / units * 1000:.3g} ms"
