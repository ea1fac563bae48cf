"""The providers file: domains grouped under one provider, every mistake named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.config import PROJECT_ROOT
from helpdesk.yamlsource import SourceError
from notifications.mailings.providers import compile_providers


def test_shipped_file_makes_gmx_and_web_de_one_provider():
    path = PROJECT_ROOT / "mailing_providers.yaml"

    providers = compile_providers(path.read_bytes(), path)

    assert providers.of("GMX.net") == providers.of("web.de")
    assert providers.of("gmx.de").name == "united-internet"
    assert providers.of("example.com") is None


def test_a_domain_under_two_providers_and_a_bad_rate_are_named_with_their_lines():
    text = b"""providers:
  one:
    rate: 5
    domains: [gmx.de]
  two:
    rate: schnell
    domains: [web.de]
  three:
    rate: 1
    domains: [GMX.de]
"""
    with pytest.raises(SourceError) as raised:
        compile_providers(text, Path("p.yaml"))

    assert [str(p) for p in raised.value.problems] == [
        "p.yaml:6:11: provider 'two': rate must be a number of messages per second (>= 0)",
        "p.yaml:10:15: provider 'three': gmx.de belongs to one",
    ]
