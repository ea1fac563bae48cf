"""Mailing knobs from the environment, read and checked in one place.

They sit beside ``helpdesk.config.Settings`` (which knows no domain rule) and fail the same
way: one ``ConfigError`` line naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from helpdesk.config import ConfigError, Settings

Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class MailingSettings:
    approval_threshold: int  # more accounts than this need a second ops user's approval
    batch_size: int  # delivery records per RQ job (one SMTP connection each)
    rate: float  # messages per second over all domains; 0 means unlimited
    domain_rate: float  # messages per second to one destination domain; 0 means unlimited
    lease_seconds: int  # a claim older than this is presumed dead and its records retried
    max_attempts: int  # temporary failures after which a record is finally failed
    link_hosts: tuple[str, ...]  # the only hosts a mailing may link to


def load_mailing_settings(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> MailingSettings:
    env = os.environ if environ is None else environ
    public_host = urlsplit(settings.public_url).hostname or ""
    hosts = env.get("MAILING_LINK_HOSTS") or public_host
    return MailingSettings(
        approval_threshold=_number(env, "MAILING_APPROVAL_THRESHOLD", 50, int),
        batch_size=max(1, _number(env, "MAILING_BATCH_SIZE", 500, int)),
        rate=_number(env, "MAILING_RATE", 0.0, float),
        domain_rate=_number(env, "MAILING_DOMAIN_RATE", 100.0, float),
        lease_seconds=max(1, _number(env, "MAILING_LEASE_SECONDS", 600, int)),
        max_attempts=max(1, _number(env, "MAILING_MAX_ATTEMPTS", 8, int)),
        link_hosts=tuple(h.strip().lower() for h in hosts.split(",") if h.strip()),
    )


def _number(env: Mapping[str, str], name: str, default: Number, kind: type[Number]) -> Number:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}: must not be negative")
    return value
