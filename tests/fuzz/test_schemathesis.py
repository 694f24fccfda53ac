"""Schemathesis against the app's own OpenAPI document: every operation, generated requests as the
bootstrap admin; no 5xx, and every response documented and matching its schema. (Driven through plain
Hypothesis: schemathesis' pytest plugin does not run under pytest 9 yet.)"""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from factories import ADMIN

EXAMPLES_PER_OPERATION = 25
# The invoice schema is deliberately lenient (the rules report every problem at once as a 422), so
# "schema-valid data must be accepted" does not apply; these checks are the contract.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_within_its_contract(app, client):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=ADMIN, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    assert operations >= 20
    assert failures == [], "\n\n".join(failures)
