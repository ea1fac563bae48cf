"""`helpdesk routes check`: every problem named as FILE:LINE:COLUMN, exit 1; clean: one line."""

from __future__ import annotations

from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.yamlsource import SourceError
from tests.unit.tickets.routing.rulefiles import SHIPPED_RULES, small_document
from tickets.routing import check_rules, load_rules

WAWI_RULE = {
    "id": "wawi",
    "description": "Wawi.",
    "when": {"product_family": "JTL-Wawi"},
    "then": {"queue": "wawi"},
}


def messages(path) -> list[str]:
    return [f"{p.line}:{p.column}: {p.message}" for p in check_rules(path)]


def test_clean_file_prints_one_summary_line_and_exits_0():
    result = CliRunner().invoke(main, ["routes", "check", str(SHIPPED_RULES)])

    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    assert "ok" in result.output and load_rules(SHIPPED_RULES).version in result.output


def test_unknown_queue_is_reported_with_line_and_column(write_rules):
    path = write_rules(
        "version: 1\n"
        + SHIPPED_RULES.read_text(encoding="utf-8")
        .split("version: 1\n", 1)[1]
        .replace("    then:\n      queue: wawi\n", "    then:\n      queue: wawii\n")
    )
    line = next(
        number
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "queue: wawii" in text
    )

    result = CliRunner().invoke(main, ["routes", "check", str(path)])

    assert result.exit_code == 1
    assert result.output == f"{path}:{line}:14: unknown queue 'wawii' (did you mean 'wawi'?)\n"


def test_all_reference_errors_in_one_run(write_rules):
    rule = {
        "id": "bad",
        "description": "Names things that do not exist.",
        "when": {
            "product_family": "JTL-Wawy",
            "department": "Marketing",
            "channel": "fax",
            "edition": "JTL Ultra",
            "support_level": "Platin",
            "requested_priority": "urgent",
        },
        "then": {"queue": "nowhere", "priority": "asap"},
    }
    found = messages(write_rules(small_document([rule])))

    assert len(found) == 8
    joined = "\n".join(found)
    for expected in (
        "unknown product family 'JTL-Wawy' (did you mean 'JTL-Wawi'?)",
        "unknown department 'Marketing'",
        "unknown channel 'fax'",
        "unknown edition 'JTL Ultra'",
        "unknown support level 'Platin'",
        "unknown requested priority 'urgent'",
        "unknown queue 'nowhere'",
        "unknown priority 'asap'",
    ):
        assert expected in joined


def test_component_outside_the_rules_family_can_never_match(write_rules):
    rule = {
        "id": "x",
        "description": "d",
        "when": {"product_family": "JTL-Wawi", "component": "Fragen zu Firmendaten/Kundenkonto"},
        "then": {"queue": "wawi"},
    }

    (message,) = messages(write_rules(small_document([rule])))

    assert "can never match" in message and "Fragen zu Firmendaten/Kundenkonto" in message


def test_regex_that_does_not_compile_is_reported(write_rules):
    rule = {
        "id": "x",
        "description": "d",
        "when": {"subject_regex": "zugang (gesperrt"},
        "then": {"queue": "accounting"},
    }

    (message,) = messages(write_rules(small_document([rule])))

    assert "subject_regex does not compile: missing )" in message


def test_regex_with_umlauts_is_refused_because_subjects_are_folded(write_rules):
    rule = {
        "id": "x",
        "description": "d",
        "when": {"subject_regex": "^kündigung"},
        "then": {"queue": "accounting"},
    }

    (message,) = messages(write_rules(small_document([rule])))

    assert "write umlauts as ae" in message


def test_duplicate_rule_id_names_the_first_line(write_rules):
    path = write_rules(small_document([WAWI_RULE, {**WAWI_RULE, "when": {"channel": "phone"}}]))

    (message,) = messages(path)

    lines = path.read_text().splitlines()
    rules_start = lines.index("rules:")
    first = lines.index("  id: wawi", rules_start) + 1
    assert f"rule id 'wawi' is already used on line {first}" in message


def test_rule_shadowed_by_an_earlier_rule_is_reported_at_the_later_one(write_rules):
    general = {
        "id": "locked",
        "description": "d",
        "when": {"subject": "gesperrt"},
        "then": {"queue": "accounting"},
    }
    specific = {
        "id": "locked-access",
        "description": "d",
        "when": {"subject": ["Zugang gesperrt"], "channel": ["web", "email"]},
        "then": {"queue": "accounting", "priority": "high"},
    }
    path = write_rules(small_document([general, specific]))

    (problem,) = check_rules(path)

    text = path.read_text().splitlines()
    assert "id: locked-access" in text[problem.line - 1]
    assert "'locked-access' can never match: rule 'locked' on line" in problem.message


def test_rule_in_the_other_order_is_not_shadowed(write_rules):
    general = {
        "id": "locked",
        "description": "d",
        "when": {"subject": "gesperrt"},
        "then": {"queue": "accounting"},
    }
    specific = {
        "id": "locked-access",
        "description": "d",
        "when": {"subject": "Zugang gesperrt"},
        "then": {"queue": "accounting", "priority": "high"},
    }

    assert check_rules(write_rules(small_document([specific, general]))) == []


def test_missing_default_and_triage_queue_are_reported(write_rules):
    document = small_document([WAWI_RULE])
    del document["default"]
    document["queues"] = [q for q in document["queues"] if q["id"] != "triage"]

    found = "\n".join(messages(write_rules(document)))

    assert "missing key 'default'" in found
    assert "a queue with id 'triage' is required" in found


def test_yaml_syntax_error_points_at_the_spot(write_rules):
    path = write_rules("version: 1\ncatalog:\n  families: [unclosed\nqueues: []\n")

    (problem,) = check_rules(path)

    assert (problem.line, problem.message.startswith("invalid YAML:")) == (4, True)


def test_unknown_key_and_condition_free_rule(write_rules):
    rule = {"id": "x", "description": "d", "when": {}, "then": {"queue": "wawi", "prio": "high"}}

    found = "\n".join(messages(write_rules(small_document([rule]))))

    assert "a rule needs at least one condition" in found
    assert "unknown key 'prio'" in found


def test_unreadable_file_is_one_problem(tmp_path):
    (problem,) = check_rules(tmp_path / "missing.yaml")

    assert (problem.line, problem.column) == (1, 1) and "cannot read" in problem.message


def test_load_rules_raises_with_the_same_problems(write_rules):
    path = write_rules(small_document([{**WAWI_RULE, "then": {"queue": "nowhere"}}]))

    try:
        load_rules(path)
    except SourceError as error:
        assert error.problems == check_rules(path)
    else:
        raise AssertionError("load_rules accepted a file check rejects")


def test_string_that_yaml_reads_as_a_boolean_is_explained(write_rules):
    path = write_rules(small_document([{**WAWI_RULE, "when": {"department": True}}]))

    (message,) = messages(path)

    assert "must be text (quote it" in message


def test_editions_and_support_levels_are_the_vocabularys_and_the_file_may_not_redefine_them(
    write_rules,
):
    rule = {
        "id": "gold",
        "description": "Every edition the vocabulary knows, by the name it shows.",
        "when": {"edition": "JTL Enterprise", "support_level": ["Silber", "Gold"]},
        "then": {"queue": "support"},
    }
    catalog = small_document([rule])["catalog"]
    editions = [{"name": "JTL Platinum", "support_level": "Platin"}]

    assert messages(write_rules(small_document([rule]))) == []
    (message,) = messages(
        write_rules(small_document([rule], catalog={**catalog, "editions": editions}))
    )
    assert "catalog: unknown key 'editions'" in message
