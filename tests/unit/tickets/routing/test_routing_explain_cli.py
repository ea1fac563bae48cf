"""`helpdesk routes explain`: the decision and the trace, as JSON or as a table."""

from __future__ import annotations

import json

from click.testing import CliRunner

from helpdesk.cli import main
from tests.unit.tickets.routing.rulefiles import SHIPPED_RULES

LOCKED = [
    "--product-family",
    "JTL-Kundenkonto",
    "--component",
    "Fragen zu Firmendaten/Kundenkonto",
    "--subject",
    "AW: ZUGANG   GESPERRT!! Kundennr. 123456",
    "--priority",
    "low",
]


def explain(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["routes", "explain", "--rules", str(SHIPPED_RULES), *args])
    return result.exit_code, result.output


def test_json_names_queue_priorities_rule_and_trace():
    code, output = explain("--json", *LOCKED)

    decision = json.loads(output)
    assert code == 0
    assert decision["queue"] == "accounting"
    assert (decision["priority"], decision["requested_priority"]) == ("high", "low")
    assert decision["rule"]["id"] == "locked-access"
    line = SHIPPED_RULES.read_text().splitlines()[decision["rule"]["line"] - 1]
    assert line.strip() == "- id: locked-access"
    assert decision["trace"] == [
        {
            "rule": "locked-access",
            "line": decision["rule"]["line"],
            "matched": True,
            "reason": "subject 'zugang gesperrt kundennr 123456' contains 'zugang gesperrt'",
        }
    ]


def test_trace_says_why_earlier_rules_did_not_match():
    code, output = explain(
        "--json", "-f", "JTL-Wawi", "-c", "JTL-Wawi", "-s", "Zugangsdaten gesperrt?"
    )

    trace = json.loads(output)["trace"]
    assert code == 0
    assert trace[0]["rule"] == "locked-access" and trace[0]["matched"] is False
    assert "contains none of 'zugang gesperrt'" in trace[0]["reason"]
    assert [step["rule"] for step in trace if step["matched"]] == ["wawi"]


def test_body_file_and_mailbox_are_considered(tmp_path):
    body = tmp_path / "mail.txt"
    body.write_text("Anbei die Sterbeurkunde unseres Inhabers.", encoding="utf-8")

    code, output = explain(
        "--json",
        "--channel",
        "email",
        "--mailbox",
        "buchhaltung@jtl-software.de",
        "--subject",
        "Unterlagen",
        "--body-file",
        str(body),
    )

    assert code == 0 and json.loads(output)["rule"]["id"] == "owner-deceased-mail"


def test_table_without_json():
    code, output = explain(*LOCKED)

    assert code == 0
    assert "accounting (Buchhaltung" in output
    assert "high (requested: low)" in output
    assert "MATCH" in output


def test_invalid_rules_file_is_refused_with_its_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["routes", "explain", "--rules", str(bad), "-s", "x"])

    assert result.exit_code == 1
    assert f"{bad}:1:10: version 2 is not supported" in result.output
