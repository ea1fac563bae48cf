"""`helpdesk sla check` and `helpdesk sla due` through click's runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.config import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "sla_policies.yaml"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["sla", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def due(*args: str) -> dict[str, object]:
    code, out, err = run("due", "--file", str(SHIPPED), *args)
    assert code == 0, err
    return json.loads(out)


def test_check_of_a_clean_file_prints_one_summary_line() -> None:
    code, out, _ = run("check", str(SHIPPED))

    assert code == 0
    assert out.count("\n") == 1
    assert out.startswith(f"{SHIPPED}: ok, 16 policies")


def test_check_reads_the_file_named_by_sla_policies(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\n")

    code, out, _ = run("check", env={"SLA_POLICIES": str(broken)})

    assert code == 1
    assert out.startswith(f"{broken}:1:1: the policy file: missing key 'calendars'")


def test_check_prints_each_problem_as_file_line_column(tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace("first_response: 30m", "first_response: soon")
    path = tmp_path / "sla_policies.yaml"
    path.write_text(text)

    code, out, _ = run("check", str(path))

    line = text[: text.index("soon")].count("\n") + 1
    assert code == 1
    assert re.fullmatch(
        rf"{re.escape(str(path))}:{line}:\d+: Gold/critical: first_response: 'soon' is not a .*\n",
        out,
    )


def test_due_on_friday_afternoon_is_monday_morning_in_berlin_time() -> None:
    result = due("--support-level", "Gold", "--priority", "high", "--at", "2026-01-16T16:30+01:00")

    assert result["due"] == "2026-01-19T08:30:00+01:00"
    assert result["due_utc"] == "2026-01-19T07:30:00+00:00"
    assert result["business_minutes"] == 60
    assert result["clock"] == "office"


def test_due_across_the_spring_dst_change_shows_the_summer_offset() -> None:
    result = due("--support-level", "Gold", "--priority", "high", "--at", "2026-03-27T15:30:00Z")

    assert result["due"] == "2026-03-30T08:30:00+02:00"


def test_due_of_a_critical_ticket_runs_around_the_clock() -> None:
    result = due(
        "--support-level", "gold", "--priority", "critical", "--at", "2026-10-25T01:50:00+02:00"
    )

    assert result["support_level"] == "Gold"
    assert result["due"] == "2026-10-25T02:20:00+02:00"
    assert result["clock"] == "around_the_clock"
    assert result["business_minutes"] == result["wall_minutes"] == 30


def test_due_of_another_target() -> None:
    result = due(
        "--support-level",
        "Community",
        "--priority",
        "low",
        "--at",
        "2026-12-23T11:00+01:00",
        "--target",
        "resolution",
    )

    assert result["target_minutes"] == result["business_minutes"] == 20 * 540
    assert result["due"] == "2027-01-26T11:00:00+01:00"


def test_due_with_a_pause_waiting_for_the_customer() -> None:
    result = due(
        "--support-level",
        "Gold",
        "--priority",
        "high",
        "--at",
        "2026-01-16T16:30+01:00",
        "--paused",
        "2026-01-19T08:00+01:00/2026-01-19T09:00+01:00",
    )

    assert result["due"] == "2026-01-19T09:30:00+01:00"


def test_due_in_a_state_calendar() -> None:
    result = due(
        "--support-level",
        "Gold",
        "--priority",
        "high",
        "--at",
        "2026-01-05T16:30+01:00",
        "--calendar",
        "office-bavaria",
    )

    assert result["due"] == "2026-01-07T08:30:00+01:00"


def test_due_refuses_an_instant_without_offset() -> None:
    code, _, err = run(
        "due", "--file", str(SHIPPED), "--support-level", "Gold", "--priority", "high",
        "--at", "2026-01-16T16:30",
    )  # fmt: skip

    assert code == 2
    assert "no UTC offset" in err


def test_due_refuses_an_unknown_calendar() -> None:
    code, _, err = run(
        "due", "--file", str(SHIPPED), "--support-level", "Gold", "--priority", "high",
        "--at", "2026-01-16T16:30Z", "--calendar", "mars",
    )  # fmt: skip

    assert code == 2
    assert "unknown calendar 'mars'" in err


def test_due_with_a_broken_policy_file_prints_its_problems(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 2\n")

    code, out, err = run(
        "due", "--file", str(broken), "--support-level", "Gold", "--priority", "high",
        "--at", "2026-01-16T16:30Z",
    )  # fmt: skip

    assert code == 1
    assert out == ""
    assert f"{broken}:1:10: version must be 1, got '2'" in err
