"""The whole API, fuzzed by schemathesis from its own OpenAPI document, with the tokens of a
customer, an agent and an ops person: no answer is a 5xx, every answer fits the document.

Run by `make fuzz` (and `.ci/run`, on PostgreSQL); ``FUZZ_EXAMPLES`` bounds the examples per
operation and caller.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.demo import seed_accounts
from notifications.mailings import services as mailing_services
from notifications.mailings.composing import MailingDraft
from tickets.demo import seed_demo as seed_tickets
from tickets.routing import routing_rules

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CALLERS = {
    "customer": "kunde@mueller-handel.example",
    "agent": "agent-accounting@support.example.com",
    "ops": "ops@support.example.com",
}


@pytest.fixture
def fuzz_tokens(app, runtime) -> dict[str, str]:
    """The demo data with a ticket and a mailing; a token for each kind of caller."""
    queue_ids = [queue.id for queue in routing_rules(runtime).queues]
    people = seed_accounts(runtime, queue_ids, if_empty=False, issue_tokens=True)
    seed_tickets(runtime, if_empty=False)
    mailing_services.create_mailing(
        runtime,
        MailingDraft(
            product_family="JTL-Wawi",
            purpose="maintenance",
            subject="Wartungsfenster 4. Mai",
            body="Am 4. Mai ist die Cloud von 6 bis 8 Uhr nicht erreichbar.",
            audience_kind="accounts",
            audience_values=("10001",),
        ),
        "ops-b@support.example.com",
    )
    return {caller: people.tokens[email] for caller, email in CALLERS.items()}


def test_every_answer_fits_the_document_and_none_is_a_server_error(app, fuzz_tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    answered: Counter[tuple[str, int]] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in schemathesis.GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
                # No shrinking: a failure is reported as found, and the run stays bounded.
                phases=(Phase.explicit, Phase.generate),
            )
            def fuzz(case) -> None:
                for caller, token in fuzz_tokens.items():
                    headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
                    response = case.call_and_validate(headers=headers, checks=CHECKS)
                    answered[(caller, response.status_code // 100)] += 1

            try:
                fuzz()
            except Unsatisfiable:
                continue  # nothing to make invalid (an operation without input)
            except Exception as error:  # every operation's failure is reported, not only the first
                failures[f"{operation.label} ({mode.value})"] = str(error)
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    # The fuzzer got through to the operations as every caller, not only to 4xx answers.
    assert all(answered[(caller, 2)] > 0 for caller in fuzz_tokens), answered
