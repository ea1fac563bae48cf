"""Mailing tests may change settings: parametrise ``settings`` indirectly with the fields."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from helpdesk.config import Settings


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings, with ``{field: value}`` from ``parametrize(..., indirect=True)``."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return dataclasses.replace(settings, **overrides)
