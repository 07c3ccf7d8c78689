"""The gateway's edge: body size (413 before parsing), JSON that the platform cannot carry (400 naming the
field), and the last resort for a failure (one redacted log line, a 500 naming the request id)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi import Request
from fastapi.testclient import TestClient
from paved_gateway.app import create_app
from paved_gateway.json_rules import MAX_DEPTH, violations
from paved_gateway.settings import GatewaySettings
from paved_kit.logging import configure_logging

TOKEN = "edge-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_paved_handler", False):
            root.removeHandler(handler)


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = GatewaySettings.model_validate(
        {
            "tokens": json.dumps([{"token": TOKEN, "subject": "ops", "roles": ["admin"]}]),
            "max_body_bytes": 16384,
            # Nothing listens there: a request that got past the edge would fail with 503, not 400/413.
            **{
                f"{s}_address": "127.0.0.1:9"
                for s in ("catalog", "provisioning", "policy", "cost", "alerting")
            },
        }
    )
    app = create_app(settings)

    @app.get("/boom")
    async def boom(request: Request) -> None:
        headers = dict(request.headers)  # a frame local holding the caller's token
        raise RuntimeError(f"failed while handling {len(headers)} headers")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def create_body(parameters: Any) -> dict[str, Any]:
    return {"name": "edge-svc", "team": "payments", "template": "web-service", "parameters": parameters}


def assert_backstage_error(response: Any, status: int, name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["name"] == name
    assert body["response"]["statusCode"] == status
    assert body["request"] == {"method": "POST", "url": "/api/services"}
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    return body


def test_a_body_nested_too_deep_is_400_naming_where(client: TestClient) -> None:
    response = client.post("/api/services", json=create_body(nested(60)), headers=AUTH)
    body = assert_backstage_error(response, 400, "InputError")
    (violation,) = body["error"]["fieldViolations"]
    assert violation["field"].startswith("parameters.a.a.a")
    assert f"more than {MAX_DEPTH} levels" in violation["description"]


def test_a_body_nested_beyond_the_parser_stack_is_400(client: TestClient) -> None:
    text = '{"parameters": ' + "[" * 5000 + "]" * 5000 + "}"
    response = client.post(
        "/api/services", content=text, headers={**AUTH, "content-type": "application/json"}
    )
    body = assert_backstage_error(response, 400, "InputError")
    assert "levels deep" in body["error"]["fieldViolations"][0]["description"]


@pytest.mark.parametrize(
    ("literal", "rule"),
    [
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("1e400", "finite"),
        ("1" + "0" * 400, "integer between"),
        ("1" + "0" * 5000, "integer between"),
        ("9007199254740993", "integer between"),
    ],
)
def test_numbers_the_platform_cannot_carry_are_400(client: TestClient, literal: str, rule: str) -> None:
    text = (
        '{"name": "edge-svc", "team": "payments", "template": "web-service", "parameters": {"replicas": %s}}'
    )
    response = client.post(
        "/api/services", content=text % literal, headers={**AUTH, "content-type": "application/json"}
    )
    body = assert_backstage_error(response, 400, "InputError")
    (violation,) = body["error"]["fieldViolations"]
    assert violation["field"] == "parameters.replicas"
    assert rule in violation["description"]


def test_every_bad_number_is_named_at_once() -> None:
    found = violations(b'{"a": [1, NaN, {"b": 1e999}], "c": 2.5, "d": 9007199254740991, "e": true}')
    assert [(v.field, "finite" in v.description) for v in found] == [("a.1", True), ("a.2.b", True)]


def test_a_declared_oversized_body_is_413_before_it_is_read(client: TestClient) -> None:
    response = client.post(
        "/api/services",
        content=b"{" + b" " * 20_000 + b"}",
        headers={**AUTH, "content-type": "application/json"},
    )
    body = assert_backstage_error(response, 413, "PayloadTooLargeError")
    assert body["error"]["limitBytes"] == 16384


def test_a_streamed_oversized_body_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "edge-svc", "parameters": {"pad": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}}'

    response = client.post(
        "/api/services", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_backstage_error(response, 413, "PayloadTooLargeError")


def test_a_valid_body_padded_with_whitespace_is_413(client: TestClient) -> None:
    text = json.dumps(create_body({})) + " " * 20_000
    response = client.post(
        "/api/services", content=text, headers={**AUTH, "content-type": "application/json"}
    )
    assert_backstage_error(response, 413, "PayloadTooLargeError")


def test_a_body_within_the_rules_reaches_the_flow(client: TestClient) -> None:
    # Past the edge, the flow calls the catalog, which is down: 503, not 400 or 413.
    response = client.post("/api/services", json=create_body(nested(20)), headers=AUTH)
    assert response.status_code == 503, response.text


def test_an_unexpected_failure_is_one_redacted_line_and_a_500_naming_the_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("gateway", "DEBUG", "json")
    capsys.readouterr()
    response = client.get(
        "/boom", headers={**AUTH, "x-request-id": "req-boom-1", "cookie": "sid=c00kie-value"}
    )
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == {
        "name": "Error",
        "message": "internal error (request id req-boom-1)",
        "requestId": "req-boom-1",
    }
    assert body["response"]["statusCode"] == 500
    out = capsys.readouterr().out
    assert TOKEN not in out and "c00kie-value" not in out
    lines = [json.loads(line) for line in out.splitlines() if "req-boom-1" in line]
    assert len(lines) == 1, out
    (line,) = lines
    assert line["status"] == 500 and line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert len(out) < 20_000


async def test_a_client_leaving_mid_body_is_logged_as_499_not_500(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("gateway", "INFO", "json")
    app = create_app(GatewaySettings.model_validate({}))
    messages = iter(
        [
            {"type": "http.request", "body": b'{"name": "half', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/services",
        "raw_path": b"/api/services",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
        "app": app,
    }
    capsys.readouterr()
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent == []
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if "http request" in text]
    assert line["status"] == 499 and line["level"] == "info"
