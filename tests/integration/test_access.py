"""Deny by default: every route declares who may call it."""

from __future__ import annotations

from helpdesk.security import ACCESS_ATTRIBUTE


def test_every_route_declares_its_access_rule(app):
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and getattr(app.view_functions[rule.endpoint], ACCESS_ATTRIBUTE, None) is None
    ]

    assert undeclared == []


def test_a_view_without_declaration_is_refused(app, client):
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")

    assert client.get("/undeclared").status_code == 403
