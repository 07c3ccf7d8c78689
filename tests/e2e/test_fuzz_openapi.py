"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis) against the whole
suite: whatever the input — inputs the schema allows, inputs it forbids, and hostile JSON (NaN, Infinity,
numbers beyond a double, deep nesting, NUL characters, oversized bodies) put into every field — the
gateway never answers with a server error (any 5xx fails), and every error it gives is in Backstage's
shape. The counts of calls and statuses are printed at the end (``pytest -s``)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import TOKENS
from e2e_suite import Suite
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

# Bounded so that the run stays within a few minutes on two cores (PostgreSQL answers slower than SQLite).
MAX_EXAMPLES = 4 if os.environ.get("PAVED_E2E_DATABASE") == "postgres" else 10
AUTH = {"Authorization": f"Bearer {TOKENS['admin']['token']}"}
MiB = 1024 * 1024

# JSON texts the platform cannot carry or that try to exhaust it; each is put into every field of a valid
# body, and some are sent as the whole body.
HOSTILE_VALUES = {
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400": "1e400",
    "10**400": "1" + "0" * 400,
    "2**63": str(2**63),
    "nested 60": '{"a": ' * 60 + "1" + "}" * 60,
    "NUL": '"\\u0000"',
    "U+FFFF": '"\\uffff"',
    "lone surrogate": '"\\ud800"',
    "64 KiB string": json.dumps("x" * 65536),
}
HOSTILE_BODIES = {
    "nested 100000": "[" * 100_000 + "]" * 100_000,
    "2 MiB": json.dumps({"pad": "x" * (2 * MiB)}),
    "not JSON": "{'name': ",
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "NaN": "NaN",
}


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    calls = sum(n for key, n in counts.items() if key.startswith("status "))
    print(f"\nOpenAPI fuzzing: {calls} calls; " + ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())))


def check(status: int, text: str, content_type: str, where: str, tally: Counter[str]) -> None:
    tally[f"status {status}"] += 1
    assert status < 500, f"{where} → {status}: {text[:2000]}"
    if content_type.startswith("application/json") and status >= 400:
        body = json.loads(text)
        assert set(body) >= {"error", "request", "response"}, body
        assert body["response"]["statusCode"] == status
        assert body["error"]["name"] and body["error"]["message"]


def check_case(case: Any, tally: Counter[str]) -> None:
    response = case.call(headers=AUTH, timeout=30)
    content_type = (response.headers.get("content-type") or [""])[0]
    check(response.status_code, response.text, content_type, f"{case.method} {case.formatted_path}", tally)


def operations(suite: Suite) -> list[Any]:
    document = httpx.get(f"{suite.gateway_url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=suite.gateway_url)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 20
    return found


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_for_any_generated_input(
    suite: Suite, tally: Counter[str], mode: GenerationMode
) -> None:
    for operation in operations(suite):

        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: Any) -> None:
            check_case(case, tally)

        try:
            fuzz()
        except Unsatisfiable:
            # Negative mode on an operation that accepts everything it can be sent (no parameters, no body).
            assert mode == GenerationMode.NEGATIVE, operation.label
            tally["operations without negative input"] += 1
        tally[f"operations fuzzed ({mode.value})"] += 1


def hostile_variants(body: Any) -> Iterator[tuple[str, str | bytes]]:
    """Each hostile value in place of each top-level field of ``body`` (and of the body itself)."""
    fields = list(body) if isinstance(body, dict) else []
    for label, text in HOSTILE_VALUES.items():
        for field in fields:
            marker = "\u2063hostile\u2063"
            document = json.dumps({**body, field: marker})
            yield f"{field}={label}", document.replace(json.dumps(marker), text, 1)
    yield from HOSTILE_BODIES.items()


@pytest.mark.timeout(900)
def test_no_server_errors_for_hostile_json_in_any_field(suite: Suite, tally: Counter[str]) -> None:
    with_bodies = [op for op in operations(suite) if op.body]
    assert with_bodies, "the API has operations with JSON bodies"
    with httpx.Client(base_url=suite.gateway_url, headers=AUTH, timeout=30) as client:
        for operation in with_bodies:

            @settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy())
            def hostile(case: Any) -> None:
                for label, content in hostile_variants(case.body):
                    response = client.request(
                        case.method,
                        case.formatted_path,
                        params=case.query,
                        content=content,
                        headers={"content-type": "application/json"},
                    )
                    where = f"{case.method} {case.formatted_path} [{label}]"
                    check(
                        response.status_code,
                        response.text,
                        response.headers.get("content-type", ""),
                        where,
                        tally,
                    )
                    tally["hostile calls"] += 1

            hostile()
