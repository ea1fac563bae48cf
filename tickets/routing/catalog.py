"""What the rules file declares besides rules: products, departments, queues; and priorities
as the ticket form offers them (from the vocabulary, their words from the labels)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    """A product family ("Produktfamilie") with its components and mail banner colour."""

    name: str
    colour: str
    components: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Queue:
    id: str
    name: str
    team: str
    description: str


@dataclass(frozen=True, slots=True)
class Priority:
    id: str


@dataclass(frozen=True, slots=True)
class Catalog:
    families: tuple[Family, ...]
    departments: tuple[str, ...]
