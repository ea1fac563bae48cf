"""GET /api/v1/catalog for the ticket form, POST /api/v1/routes/explain for agents."""

from __future__ import annotations

import pytest

from accounts import tokens
from accounts.users import create_staff_user

LOCKED = {
    "product_family": "JTL-Kundenkonto",
    "component": "Fragen zu Firmendaten/Kundenkonto",
    "subject": "AW: ZUGANG   GESPERRT!! Kundennr. 123456",
    "priority": "low",
}


@pytest.fixture
def agent_token(runtime) -> str:
    user = create_staff_user(
        runtime,
        email="agentin@jtl-software.example",
        password="ein langes Passwort 4 Tests!",
        roles=["agent"],
        queues=["accounting"],
    )
    return tokens.issue(runtime, user.id, "explain", ["agent"])[1]


def test_catalog_lists_families_with_components_departments_and_priorities(client):
    response = client.get("/api/v1/catalog")

    assert response.status_code == 200
    catalog = response.get_json()
    families = {family["name"]: family for family in catalog["product_families"]}
    assert "Fragen zu Firmendaten/Kundenkonto" in families["JTL-Kundenkonto"]["components"]
    assert families["JTL-Wawi"]["colour"].startswith("#")
    assert "Buchhaltung" in catalog["departments"]
    assert [p["id"] for p in catalog["priorities"]] == ["low", "normal", "high", "critical"]


def test_catalog_answers_304_while_the_rules_are_unchanged(client):
    etag = client.get("/api/v1/catalog").headers["ETag"]

    assert client.get("/api/v1/catalog", headers={"If-None-Match": etag}).status_code == 304


def test_explain_returns_decision_and_trace_for_an_agent(client, agent_token):
    response = client.post(
        "/api/v1/routes/explain", json=LOCKED, headers={"Authorization": f"Bearer {agent_token}"}
    )

    assert response.status_code == 200
    decision = response.get_json()
    assert (decision["queue"], decision["priority"]) == ("accounting", "high")
    assert decision["requested_priority"] == "low"
    assert decision["rule"]["id"] == "locked-access"
    assert decision["trace"][-1]["matched"] is True


def test_explain_names_each_bad_field(client, agent_token):
    response = client.post(
        "/api/v1/routes/explain",
        json={"subject": 42, "priority": "dringend", "channel": "fax", "colour": "red"},
        headers={"Authorization": f"Bearer {agent_token}"},
    )

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"subject", "priority", "channel", "colour"}


def test_explain_is_refused_without_an_agent_token(client):
    assert client.post("/api/v1/routes/explain", json=LOCKED).status_code == 401
