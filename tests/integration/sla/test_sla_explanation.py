"""Why is it due then? The explanation of a ticket's due times, through the API and the pages,
checked against `helpdesk sla due` across a weekend, a holiday and a DST change."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.accounts.factories import make_customer, make_staff, sign_in
from tests.integration.sla.helpers import WAWI, berlin, clock_from, set_status, ticket
from tests.integration.tickets.factories import agent_token, make_ticket

BIN = Path(sys.executable).parent


def sla_due(runtime, support_level: str, priority: str, target: dict[str, Any]) -> dict[str, Any]:
    """What `helpdesk sla due` says for the explained target's start and pauses."""
    paused = [f"--paused={pause['from']}/{pause['to']}" for pause in target["pauses"]]
    result = subprocess.run(
        [
            str(BIN / "helpdesk"),
            "sla",
            "due",
            f"--support-level={support_level}",
            f"--priority={priority}",
            f"--at={target['start']}",
            f"--target={target['target']}",
            f"--file={runtime.settings.sla_policies_path}",
            *paused,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def explained(client, runtime, ticket_id: int) -> dict[str, Any]:
    filed = ticket(runtime, ticket_id)
    token = agent_token(runtime, queues=(filed.queue,))
    response = client.get(
        f"/api/v1/tickets/{filed.number}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["due_times"]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def target(due_times: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(item for item in due_times["targets"] if item["target"] == kind)


@pytest.mark.parametrize(
    ("filed", "priority", "closed_days", "dst_dates"),
    [
        # Friday afternoon: the weekend is skipped.
        ("2026-03-13 15:00", "normal", [("2026-03-14", "weekend"), ("2026-03-15", "weekend")], []),
        # Maundy Thursday: Good Friday, the weekend and Easter Monday are skipped.
        (
            "2026-04-02 16:00",
            "normal",
            [
                ("2026-04-03", "Karfreitag"),
                ("2026-04-04", "weekend"),
                ("2026-04-05", "weekend"),
                ("2026-04-06", "Ostermontag"),
            ],
            [],
        ),
        # The last Friday of March: summer time begins on the Sunday skipped.
        (
            "2026-03-27 16:00",
            "normal",
            [("2026-03-28", "weekend"), ("2026-03-29", "weekend")],
            ["2026-03-29"],
        ),
        # Around the clock across the night summer time begins: 02:00 does not exist.
        ("2026-03-29 01:30", "critical", [], ["2026-03-29"]),
    ],
)
def test_explanation_matches_helpdesk_sla_due(
    client, runtime, filed, priority, closed_days, dst_dates
):
    ticket_id = make_ticket(runtime, **WAWI, priority=priority)
    clock_from(runtime, ticket_id, berlin(filed))

    due_times = explained(client, runtime, ticket_id)

    level, _, policy_priority = due_times["policy"].partition("/")
    for item in due_times["targets"]:
        cli = sla_due(runtime, level, policy_priority, item)
        assert (item["due_utc"], item["agrees_with_stored"]) == (cli["due_utc"], True)
        assert sum(stretch["minutes"] for stretch in item["counted"]) == cli["target_minutes"]
    first = target(due_times, "first_response")
    names = [
        (day["date"], day["name"] if day["kind"] != "weekend" else "weekend")
        for day in first["closed_days"]
    ]
    assert names == closed_days
    assert [change["date"] for change in first["dst_changes"]] == dst_dates


def test_a_pause_waiting_for_the_customer_is_explained_and_matches_sla_due(client, runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, berlin("2026-03-16 08:00"))
    set_status(runtime, ticket_id, "waiting", berlin("2026-03-16 10:00"))
    set_status(runtime, ticket_id, "open", berlin("2026-03-17 09:00"))

    due_times = explained(client, runtime, ticket_id)

    first = target(due_times, "first_response")
    pauses = [(instant(pause["from"]), instant(pause["to"])) for pause in first["pauses"]]
    assert pauses == [(berlin("2026-03-16 10:00"), berlin("2026-03-17 09:00"))]
    level, _, priority = due_times["policy"].partition("/")
    assert first["due_utc"] == sla_due(runtime, level, priority, first)["due_utc"]
    assert first["agrees_with_stored"] is True


def test_the_console_shows_why_it_is_due_with_the_holiday_named(client, runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, berlin("2026-04-02 16:00"))
    sign_in(client, make_staff(runtime, "supervisor").email)

    html = client.get(f"/konsole/tickets/{ticket(runtime, ticket_id).number}/sla").get_data(
        as_text=True
    )

    section = html[html.index('id="due-explanation"') :]
    assert "Warum ist es dann fällig?" in html
    assert "Karfreitag" in section and "Ostermontag" in section
    assert "Wochenende" in section
    assert "Community · Normal" in section


def test_the_customer_reads_in_plain_words_which_days_do_not_count(client, runtime):
    account = make_customer_account(runtime)
    customer = make_customer(runtime, account)
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, berlin("2026-03-27 16:00"), account_id=account.id)
    sign_in(client, customer.email)

    html = client.get(f"/tickets/{ticket(runtime, ticket_id).number}").get_data(as_text=True)

    section = html[html.index('id="due-explanation"') :]
    assert "Geschäftszeiten Mo–Fr 08:00–17:00" in section
    assert "Sa, 28.03. und So, 29.03. (Wochenende)" in section
    assert "Umstellung auf Sommerzeit" in section
