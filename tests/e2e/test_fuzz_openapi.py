"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis) against the whole
suite: whatever the input, the gateway never answers with a server error, and every error it gives is
in Backstage's shape."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import TOKENS
from e2e_suite import Suite
from hypothesis import HealthCheck, given, settings

# Bounded so that the run stays under a minute on two cores (PostgreSQL answers slower than SQLite).
MAX_EXAMPLES = 6 if os.environ.get("PAVED_E2E_DATABASE") == "postgres" else 15
AUTH = {"Authorization": f"Bearer {TOKENS['admin']['token']}"}


def check(case: Any) -> None:
    response = case.call(headers=AUTH, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text}"
    )
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json") and response.status_code >= 400:
        body = response.json()
        assert set(body) >= {"error", "request", "response"}, body
        assert body["response"]["statusCode"] == response.status_code


@pytest.mark.timeout(300)
def test_no_server_errors_for_any_generated_input(suite: Suite) -> None:
    document = httpx.get(f"{suite.gateway_url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=suite.gateway_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def fuzz(case: Any) -> None:
            check(case)

        fuzz()
