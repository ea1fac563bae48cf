"""Routing's ``sla`` action names a policy of sla_policies.yaml, or is left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.config import PROJECT_ROOT
from tickets.routing import load_rules
from tickets.sla import load_policies
from tickets.sla.clock import unknown_overrides

POLICIES = load_policies(PROJECT_ROOT / "sla_policies.yaml")
RULES = PROJECT_ROOT / "routing_rules.yaml"


def _rules_with_sla(tmp_path: Path, name: str):
    """The shipped rules with ``sla: NAME`` added to the critical-emergency rule."""
    text = RULES.read_text(encoding="utf-8")
    marker = "      queue: on-call\n      tags: [kritisch]\n"
    assert marker in text
    changed = tmp_path / "routing_rules.yaml"
    changed.write_text(text.replace(marker, f"{marker}      sla: {name}\n", 1), encoding="utf-8")
    return load_rules(changed)


def test_shipped_routing_rules_name_only_defined_policies():
    assert unknown_overrides(load_rules(RULES), POLICIES) == []


def test_an_override_naming_a_policy_is_accepted(tmp_path):
    assert unknown_overrides(_rules_with_sla(tmp_path, "Gold/critical"), POLICIES) == []


@pytest.mark.parametrize("name", ["urgent", "emergency", "Gold/urgent", "Platin/high"])
def test_an_override_naming_no_policy_is_reported(tmp_path, name):
    problems = unknown_overrides(_rules_with_sla(tmp_path, name), POLICIES)

    assert len(problems) == 1
    assert "critical-emergency" in problems[0] and repr(name) in problems[0]


def test_sla_check_reports_routing_overrides_naming_no_policy(tmp_path):
    _rules_with_sla(tmp_path, "urgent")

    result = CliRunner().invoke(
        main, ["sla", "check", "--routing-rules", str(tmp_path / "routing_rules.yaml")]
    )

    assert result.exit_code == 1
    assert "critical-emergency" in result.stdout and "'urgent'" in result.stdout


def test_sla_check_is_clean_for_the_shipped_files():
    result = CliRunner().invoke(main, ["sla", "check", "--routing-rules", str(RULES)])

    assert result.exit_code == 0
    assert ": ok, 16 policies" in result.stdout
