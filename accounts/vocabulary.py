"""The data behind contact persons: salutations, responsibilities, newsletters, list purposes.

Read from ``contact_options.yaml`` next to this module, once per process. Editions and support
levels are the whole service's words: they live in ``vocabulary``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    description: str = ""
    default: bool = False


@dataclass(frozen=True)
class OptionGroup:
    id: str
    name: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class ContactOptions:
    salutations: tuple[str, ...]
    responsibility_groups: tuple[OptionGroup, ...]
    newsletter_channels: tuple[Option, ...]
    distribution_purposes: tuple[Option, ...]

    @property
    def responsibility_ids(self) -> frozenset[str]:
        return frozenset(o.id for g in self.responsibility_groups for o in g.options)

    @property
    def newsletter_ids(self) -> frozenset[str]:
        return frozenset(o.id for o in self.newsletter_channels)

    @property
    def default_newsletters(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.newsletter_channels if o.default)

    @property
    def purpose_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.distribution_purposes)

    def purpose(self, purpose_id: str) -> Option | None:
        return next((p for p in self.distribution_purposes if p.id == purpose_id), None)


def _load(name: str) -> dict[str, Any]:
    with (HERE / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _option(item: dict[str, Any]) -> Option:
    return Option(
        item["id"], item["name"], item.get("description", ""), bool(item.get("default", False))
    )


@cache
def contact_options() -> ContactOptions:
    data = _load("contact_options.yaml")
    return ContactOptions(
        salutations=tuple(data["salutations"]),
        responsibility_groups=tuple(
            OptionGroup(g["id"], g["name"], tuple(_option(o) for o in g["options"]))
            for g in data["responsibility_groups"]
        ),
        newsletter_channels=tuple(_option(o) for o in data["newsletter_channels"]),
        distribution_purposes=tuple(_option(o) for o in data["distribution_purposes"]),
    )
