"""List filters, page tokens, retry backoff and the Prometheus query client."""

from __future__ import annotations

import random

import httpx
import pytest
from paved_alerting.delivery import RetryPolicy
from paved_alerting.engine import ALERT_FILTERS
from paved_alerting.filters import decode_token, encode_token, page_size, parse_filter
from paved_alerting.prometheus_source import PrometheusSource
from paved_kit.errors import InvalidArgument


def test_filters_accept_quoted_and_bare_values_and_enum_spellings() -> None:
    parsed = parse_filter(
        'service = "check\\"out" AND state = ALERT_STATE_FIRING AND severity=warning', ALERT_FILTERS
    )
    assert parsed == [[("service", 'check"out')], [("state", "firing")], [("severity", "warning")]]
    assert parse_filter("  ", ALERT_FILTERS) == []


def test_or_binds_tighter_than_and_with_or_without_parentheses() -> None:
    expected = [[("team", "a"), ("team", "b AND c")], [("state", "firing")]]
    assert parse_filter('(team = "a" OR team = "b AND c") AND state = FIRING', ALERT_FILTERS) == expected
    assert parse_filter('team = "a" OR team = "b AND c" AND state = firing', ALERT_FILTERS) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("owner = x", "unknown field 'owner'"),
        ("state = BURNING", "must be one of INACTIVE, PENDING, FIRING, RESOLVED"),
        ("service ~ x", "unexpected character"),
        ('team = "a" team = "b"', "expected AND or OR"),
        ('(team = "a" AND team = "b")', "missing ')'"),
        ("team =", "incomplete term"),
    ],
)
def test_bad_filters_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        parse_filter(text, ALERT_FILTERS)
    [violation] = error.value.field_violations
    assert violation.field == "filter" and message in violation.description


def test_page_tokens_are_bound_to_their_filter() -> None:
    token = encode_token("alpha-service-down", 'team = "core"')
    assert decode_token(token, 'team = "core"') == "alpha-service-down"
    assert decode_token("", "") is None
    for bad, current in ((token, ""), ("not-a-token", "")):
        with pytest.raises(InvalidArgument) as error:
            decode_token(bad, current)
        assert error.value.field_violations[0].field == "page_token"
    assert page_size(0) == 100 and page_size(5000) == 1000
    with pytest.raises(InvalidArgument):
        page_size(-1)


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_seconds=1, max_seconds=30, max_attempts=10)
    rng = random.Random(1)
    for attempt, base in ((1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (12, 30)):
        delay = policy.delay(attempt, rng)
        assert base / 2 <= delay <= base


async def test_prometheus_results_become_samples_and_failures_yield_none() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        if query.startswith("max by (service) (up"):
            result = [
                {"metric": {"service": "checkout"}, "value": [1800000000.5, "0"]},
                {"metric": {}, "value": [1800000000.5, "1"]},
                {"metric": {"service": "search"}, "value": [1800000000.5, "NaN"]},
            ]
            return httpx.Response(
                200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
            )
        if "http_requests_total" in query:
            return httpx.Response(503, text="overloaded")
        return httpx.Response(200, json={"status": "error", "error": "bad query"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        source = PrometheusSource("http://prometheus:9090/", client)
        samples = await source.fetch(["up", "error_rate", "latency_p99"], 1800000000.5)
    assert samples == [("checkout", "up", 0.0, 1800000000.5)]
