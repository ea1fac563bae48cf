"""Mailbox providers as data (``mailing_providers.yaml``): which domains share one throttle.

GMX, WEB.DE and their sister domains are one provider with one intake, so a mailing must not
send each of them at the full per-domain rate. The file maps a provider to its domains and a
rate (messages per second over all of them); the throttle applies it on top of the per-domain
and overall rates. The file is hot-reloaded under the core's one policy (a broken file never
replaces the live one; ``/healthz`` reports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpdesk.config import Settings
from helpdesk.livefile import LiveFiles
from helpdesk.yamlsource import NodeReader, SourceError, compose


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    rate: float  # messages per second over all its domains; 0 means unlimited


@dataclass(frozen=True)
class Providers:
    by_domain: dict[str, Provider]

    def of(self, domain: str) -> Provider | None:
        return self.by_domain.get(domain.lower())


def compile_providers(text: bytes, path: Path) -> Providers:
    """The providers in ``text``; raise SourceError naming every problem with its line."""
    reader = NodeReader(str(path))
    by_domain: dict[str, Provider] = {}
    top = reader.fields(compose(text, reader.file), "the file", required=("providers",))
    entries = reader.mapping(top["providers"], "providers") if top and "providers" in top else None
    for name, node in (entries or {}).items():
        what = f"provider {name!r}"
        fields = reader.fields(node, what, required=("rate", "domains"), optional=("label",))
        if fields is None:
            continue
        label = reader.string(fields["label"], f"{what}: label") if "label" in fields else name
        rate = _rate(reader, fields.get("rate"), what)
        domains = (
            reader.strings(fields["domains"], f"{what}: domains") if "domains" in fields else []
        )
        for domain, domain_node in domains:
            key = domain.strip().lower()
            if key in by_domain:
                reader.problem(domain_node, f"{what}: {key} belongs to {by_domain[key].name}")
            elif rate is not None:
                by_domain[key] = Provider(name, label or name, rate)
    if reader.problems:
        raise SourceError(reader.sorted_problems())
    return Providers(by_domain)


def _rate(reader: NodeReader, node: Any, what: str) -> float | None:
    text = reader.text(node, f"{what}: rate") if node is not None else None
    try:
        rate = float(text) if text is not None else None
    except ValueError:
        rate = None
    if rate is None or rate < 0:
        if node is not None:
            reader.problem(node, f"{what}: rate must be a number of messages per second (>= 0)")
        return None
    return rate


_live: LiveFiles[Providers] = LiveFiles(compile_providers, what="mailing providers")


def mailing_providers(settings: Settings) -> Providers:
    """The live providers of this process, reloaded when the file changes."""
    return _live.get(settings.mailing_providers_path).current()


def providers_status(settings: Settings) -> dict[str, Any]:
    """For /healthz: the live file's version, and the error when a changed file was refused."""
    return _live.get(settings.mailing_providers_path).status()
