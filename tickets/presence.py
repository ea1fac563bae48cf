"""Who else has a ticket open in the console, and who is writing an answer: short-lived
presence in Redis, so two agents do not answer the same customer twice.

One hash per ticket maps each agent to the last time their page said it was there (and
whether they were writing). An entry older than ``PRESENCE_SECONDS`` no longer counts; the
hash expires with its last entry. Presence is a courtesy: when Redis is away, nobody is shown
and the page works as before.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# The console page says "still here" every 15 seconds; three missed beats and one is gone.
PRESENCE_SECONDS = 45


@dataclass(frozen=True)
class Present:
    who: str
    writing: bool


def _key(ticket_id: int) -> str:
    return f"helpdesk:presence:ticket:{ticket_id}"


def announce(
    connection: redis.Redis, ticket_id: int, who: str, *, writing: bool, now: float
) -> list[Present]:
    """Record that ``who`` has the ticket open (and is writing); return the others present."""
    key = _key(ticket_id)
    entry = json.dumps({"at": now, "writing": writing})
    try:
        with connection.pipeline() as pipe:
            pipe.hset(key, who, entry)
            pipe.expire(key, PRESENCE_SECONDS)
            pipe.hgetall(key)
            *_, entries = pipe.execute()
    except RedisError:
        log.warning("presence on ticket %s not recorded: Redis unavailable", ticket_id)
        return []
    present, stale = [], []
    for raw_who, raw_entry in entries.items():
        other = raw_who.decode() if isinstance(raw_who, bytes) else raw_who
        seen = json.loads(raw_entry)
        if now - seen["at"] > PRESENCE_SECONDS:
            stale.append(other)
        elif other != who:
            present.append(Present(other, bool(seen["writing"])))
    if stale:
        try:
            connection.hdel(key, *stale)
        except RedisError:
            log.warning("stale presence on ticket %s not removed: Redis unavailable", ticket_id)
    return sorted(present, key=lambda person: person.who)


def notice(others: list[Present]) -> str:
    """The console's line about the others, in German; empty when the agent is alone."""
    if not others:
        return ""
    names = [f"{o.who} (schreibt gerade eine Antwort)" if o.writing else o.who for o in others]
    return f"Ebenfalls geöffnet von: {', '.join(names)}."
