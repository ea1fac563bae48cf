"""Changing rules while running: a valid file is picked up, an invalid one never goes live."""

from __future__ import annotations

import logging
import threading

import pytest

from helpdesk.livefile import LiveFile
from helpdesk.yamlsource import SourceError
from tests.unit.tickets.routing.rulefiles import small_document
from tickets.routing import RuleSet, TicketFacts, compile_rules

WAWI = TicketFacts(product_family="JTL-Wawi", component="JTL-Wawi", subject="Frage")


def live_rules(path, *, check_interval: float = 0) -> LiveFile[RuleSet]:
    return LiveFile(path, compile_rules, what="routing rules", check_interval=check_interval)


def wawi_rule(queue: str) -> dict:
    return {
        "id": "wawi",
        "description": "d",
        "when": {"product_family": "JTL-Wawi"},
        "then": {"queue": queue},
    }


def test_changed_file_is_picked_up_without_restart(write_rules):
    path = write_rules(small_document([wawi_rule("wawi")]), name="live.yaml")
    live = live_rules(path)
    assert live.current().route(WAWI).queue == "wawi"

    write_rules(small_document([wawi_rule("accounting")]), name="live.yaml")

    assert live.current().route(WAWI).queue == "accounting"
    assert live.status()["stale"] is False


def test_invalid_file_keeps_the_old_rules_and_reports_stale_with_the_line(write_rules, caplog):
    path = write_rules(small_document([wawi_rule("wawi")]), name="live.yaml")
    live = live_rules(path)
    version = live.current().version

    write_rules(small_document([wawi_rule("nowhere")]), name="live.yaml")
    with caplog.at_level(logging.ERROR, logger="helpdesk.livefile"):
        rules = live.current()

    status = live.status()
    assert rules.version == version and rules.route(WAWI).queue == "wawi"
    assert status["stale"] is True and status["version"] == version
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if "queue: nowhere" in text
    )
    assert status["error"].startswith(f"{path}:{line}:")
    assert "unknown queue 'nowhere'" in status["error"]
    assert "unknown queue 'nowhere'" in caplog.text


def test_fixing_the_file_clears_stale(write_rules):
    path = write_rules(small_document([wawi_rule("wawi")]), name="live.yaml")
    live = live_rules(path)
    write_rules("not: [valid", name="live.yaml")
    live.current()
    assert live.status()["stale"] is True

    write_rules(small_document([wawi_rule("accounting")]), name="live.yaml")

    assert live.current().route(WAWI).queue == "accounting"
    assert live.status() == {**live.status(), "stale": False, "error": None}


def test_deleted_file_keeps_the_rules_and_reports_stale(write_rules):
    path = write_rules(small_document([wawi_rule("wawi")]), name="live.yaml")
    live = live_rules(path)

    path.unlink()

    assert live.current().route(WAWI).queue == "wawi"
    assert "cannot read" in live.status()["error"]


def test_file_is_not_looked_at_again_within_the_check_interval(write_rules):
    path = write_rules(small_document([wawi_rule("wawi")]), name="live.yaml")
    live = live_rules(path, check_interval=3600)

    write_rules(small_document([wawi_rule("accounting")]), name="live.yaml")

    assert live.current().route(WAWI).queue == "wawi"


def test_invalid_file_at_start_up_is_an_error(write_rules):
    path = write_rules(small_document([wawi_rule("nowhere")]))

    with pytest.raises(SourceError, match="unknown queue"):
        live_rules(path)


def test_many_threads_route_while_the_file_changes(write_rules):
    path = write_rules(small_document([wawi_rule("wawi")]), name="live.yaml")
    live = live_rules(path)
    seen: set[str] = set()
    errors: list[BaseException] = []
    writes_done = threading.Event()
    threads_routing = threading.Barrier(5)  # four routing threads and this one

    def route_until_done() -> None:
        try:
            seen.add(live.current().route(WAWI).queue)
            threads_routing.wait(timeout=30)
            while not writes_done.is_set():
                seen.add(live.current().route(WAWI).queue)
        except BaseException as error:  # reported to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=route_until_done) for _ in range(4)]
    for thread in threads:
        thread.start()
    threads_routing.wait(timeout=30)  # every thread has routed before the file changes
    for queue in ("accounting", "wawi", "support", "accounting"):
        write_rules(small_document([wawi_rule(queue)]), name="live.yaml")
    writes_done.set()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert "wawi" in seen
    assert seen <= {"wawi", "accounting", "support"}
    assert live.current().route(WAWI).queue == "accounting"
