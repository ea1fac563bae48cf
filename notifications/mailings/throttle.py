"""Sending rates: an overall limit, one per destination domain and one per mailbox provider
(``mailing_providers.yaml``: GMX and WEB.DE are one provider), shared by all workers.

A generic cell rate algorithm in one Redis script: each key holds the theoretical arrival time
of the next message. A worker reserves the slots of the messages to one domain that follow in a
row (an account's addresses) at once, spaced by the slowest of the rates, and sleeps until each;
a domain that is booked further ahead than ``MAX_WAIT`` is not reserved at all, and the caller
defers that recipient instead of blocking the batch.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import redis

from notifications.mailings.providers import Providers

MAX_WAIT = 1.0  # seconds a worker sleeps for a slot before it defers the recipient instead
PREFIX = "helpdesk:mailing-throttle:"

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_wait = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local at = now
local spacing = 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 2])
  if interval > 0 then
    local tat = tonumber(redis.call('GET', key) or '0')
    if tat > at then at = tat end
    if interval > spacing then spacing = interval end
  end
end
if at - now > max_wait then return {0, at - now, spacing} end
local granted = math.min(wanted, math.floor((now + max_wait - at) / spacing) + 1)
local last = at + (granted - 1) * spacing
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 2])
  if interval > 0 then
    local ttl = math.ceil((last - now + interval) / 1000) + 1000
    redis.call('SET', key, string.format('%.0f', last + interval), 'PX', ttl)
  end
end
return {granted, at - now, spacing}
"""


@dataclass
class Throttle:
    """``rate`` messages per second overall, ``domain_rate`` per domain, each provider's own
    rate over its domains; 0 means no limit."""

    connection: redis.Redis
    rate: float
    domain_rate: float
    providers: Providers = field(default_factory=lambda: Providers({}))

    def __post_init__(self) -> None:
        self._script = self.connection.register_script(_SCRIPT)
        self._reserved_for = ""
        self._reserved: deque[float] = deque()  # monotonic times of slots reserved ahead

    def acquire(self, domain: str, run: int = 1) -> float:
        """Wait for a slot for one message to ``domain``; return 0, or the seconds to defer.

        ``run``: how many messages to ``domain`` come next in a row, this one included. Their
        slots (as many as fall within ``MAX_WAIT``) are reserved in one Redis call and handed
        out by the following calls for the same domain: one call per account's domain
        instead of one per message.
        """
        domain = domain.lower()
        if self._reserved and self._reserved_for == domain:
            _sleep_until(self._reserved.popleft())
            return 0.0
        self._reserved.clear()
        keys = [f"{PREFIX}all", f"{PREFIX}domain:{domain}"]
        intervals = [_interval(self.rate), _interval(self.domain_rate)]
        if (provider := self.providers.of(domain)) is not None:
            keys.append(f"{PREFIX}provider:{provider.name}")
            intervals.append(_interval(provider.rate))
        if not any(intervals):
            return 0.0
        granted, wait, spacing = (
            int(value)
            for value in self._script(
                keys=keys, args=[int(MAX_WAIT * 1_000_000), max(run, 1), *intervals]
            )
        )
        if not granted:
            return wait / 1_000_000
        first = time.monotonic() + wait / 1_000_000
        self._reserved_for = domain
        self._reserved.extend(first + n * spacing / 1_000_000 for n in range(1, granted))
        _sleep_until(first)
        return 0.0


def _sleep_until(moment: float) -> None:
    if (wait := moment - time.monotonic()) > 0:
        time.sleep(wait)


def _interval(rate: float) -> int:
    """Microseconds between two messages at ``rate`` per second (0: unlimited)."""
    return int(1_000_000 / rate) if rate > 0 else 0
