"""The OpenAPI document describes exactly the API's operations, and real answers fit it."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.tickets.factories import LOCKED_ACCESS, agent_token, customer_token

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def check(value: Any, schema: dict[str, Any], document: dict[str, Any], path: str = "$") -> None:
    """Validate the subset of JSON Schema the document uses; fail with the path."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return check(value, document["components"]["schemas"][name], document, path)
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        assert any(
            isinstance(value, TYPES[t]) and not (t == "integer" and isinstance(value, bool))
            for t in allowed
        ), f"{path}: {value!r} is not {allowed}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "pattern" in schema and isinstance(value, str):
        assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            assert name in value, f"{path}: {name} missing"
        for name, item in value.items():
            if name in schema.get("properties", {}):
                check(item, schema["properties"][name], document, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(item, schema["items"], document, f"{path}[{index}]")
    return None


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (re.sub(r"\{(\w+)\}", r"<\1>", path), method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_every_api_operation_is_documented_and_nothing_else(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert document["openapi"].startswith("3.1")
    assert documented(document) == served


def test_real_answers_fit_their_documented_schemas(client, runtime):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    customer = {"Authorization": f"Bearer {customer_token(runtime)}"}
    agent = {"Authorization": f"Bearer {agent_token(runtime)}"}

    def fits(response, operation, status):
        assert response.status_code == int(status), response.get_data(as_text=True)
        content = operation["responses"][status]["content"]
        schema = next(iter(content.values()))["schema"]
        check(response.get_json(), schema, document)

    created = client.post("/api/v1/tickets", json=LOCKED_ACCESS, headers=customer)
    fits(created, paths["/api/v1/tickets"]["post"], "201")
    number = created.get_json()["number"]
    invalid = client.post("/api/v1/tickets", json={"subject": "x"}, headers=customer)
    fits(invalid, paths["/api/v1/tickets"]["post"], "422")
    unauthorised = client.post("/api/v1/tickets", json=LOCKED_ACCESS)
    fits(unauthorised, paths["/api/v1/tickets"]["post"], "401")
    for headers in (customer, agent):
        listed = client.get("/api/v1/tickets", headers=headers)
        fits(listed, paths["/api/v1/tickets"]["get"], "200")
        one = client.get(f"/api/v1/tickets/{number}", headers=headers)
        fits(one, paths["/api/v1/tickets/{number}"]["get"], "200")
    missing = client.get("/api/v1/tickets/HD-999999", headers=agent)
    fits(missing, paths["/api/v1/tickets/{number}"]["get"], "404")
