"""Sending rates: an overall limit, one per destination domain and one per mailbox provider
(``mailing_providers.yaml``: GMX and WEB.DE are one provider), shared by all workers.

A generic cell rate algorithm in one Redis script: each key holds the theoretical arrival time
of the next message. A worker reserves one slot at a time and sleeps until it; a domain that is
booked further ahead than ``MAX_WAIT`` is not reserved at all, and the caller defers that
recipient instead of blocking the batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis

from notifications.mailings.providers import Providers

MAX_WAIT = 1.0  # seconds a worker sleeps for a slot before it defers the recipient instead
PREFIX = "helpdesk:mailing-throttle:"

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_wait = tonumber(ARGV[1])
local at = now
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 1])
  if interval > 0 then
    local tat = tonumber(redis.call('GET', key) or '0')
    if tat > at then at = tat end
  end
end
if at - now > max_wait then return at - now end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 1])
  if interval > 0 then
    local ttl = math.ceil((at - now + interval) / 1000) + 1000
    redis.call('SET', key, string.format('%.0f', at + interval), 'PX', ttl)
  end
end
return -(at - now) - 1
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

    def acquire(self, domain: str) -> float:
        """Wait for a slot for one message to ``domain``; return 0, or the seconds to defer."""
        keys = [f"{PREFIX}all", f"{PREFIX}domain:{domain.lower()}"]
        intervals = [_interval(self.rate), _interval(self.domain_rate)]
        if (provider := self.providers.of(domain)) is not None:
            keys.append(f"{PREFIX}provider:{provider.name}")
            intervals.append(_interval(provider.rate))
        if not any(intervals):
            return 0.0
        answer = int(self._script(keys=keys, args=[int(MAX_WAIT * 1_000_000), *intervals]))
        if answer >= 0:
            return answer / 1_000_000
        wait = (-answer - 1) / 1_000_000
        if wait > 0:
            time.sleep(wait)
        return 0.0


def _interval(rate: float) -> int:
    """Microseconds between two messages at ``rate`` per second (0: unlimited)."""
    return int(1_000_000 / rate) if rate > 0 else 0
