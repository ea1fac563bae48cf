"""Fixtures for routing tests: the shipped rules, and small rule files written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.tickets.routing.rulefiles import SHIPPED_RULES
from tickets.routing import RuleSet, load_rules


@pytest.fixture(scope="session")
def shipped() -> RuleSet:
    return load_rules(SHIPPED_RULES)


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[..., Path]:
    """Write a rules file: raw YAML text, or a document (see ``rulefiles.small_document``)."""
    counter = iter(range(1_000_000))

    def write(content: str | dict[str, Any], name: str | None = None) -> Path:
        path = tmp_path / (name or f"rules-{next(counter)}.yaml")
        text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
