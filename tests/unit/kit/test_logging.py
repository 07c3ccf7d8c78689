"""Logs are JSON off a terminal, carry the request context (also for stdlib loggers), never secrets."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from paved_kit.context import bind_request
from paved_kit.logging import configure_logging, get_logger
from paved_kit.redaction import redact_text
from pydantic import SecretStr


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_paved_handler", False):
            root.removeHandler(handler)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_json_lines_carry_request_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("catalog", "INFO", "auto")  # captured stdout is not a TTY
    with bind_request(request_id="req-7", rpc="/paved.catalog.v1.CatalogService/GetTemplate"):
        get_logger(__name__).info("template rendered", template="web")
        logging.getLogger("sqlalchemy.pool").warning("pool exhausted")
    get_logger(__name__).info("outside a request")

    ours, library, outside = _lines(capsys)
    assert ours["event"] == "template rendered"
    assert ours["request_id"] == "req-7"
    assert ours["rpc"] == "/paved.catalog.v1.CatalogService/GetTemplate"
    assert ours["service"] == "catalog"
    assert ours["level"] == "info"
    assert ours["timestamp"].endswith("Z")
    assert (library["event"], library["request_id"], library["logger"]) == (
        "pool exhausted",
        "req-7",
        "sqlalchemy.pool",
    )
    assert "request_id" not in outside


def test_configuring_twice_does_not_duplicate_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("catalog", "INFO", "json")
    configure_logging("catalog", "WARNING", "json")
    get_logger().warning("once")
    get_logger().info("filtered")
    assert [line["event"] for line in _lines(capsys)] == ["once"]


def test_exceptions_become_structured_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("catalog", "INFO", "json")
    try:
        raise KeyError("missing")
    except KeyError:
        get_logger().exception("lookup failed")
    (line,) = _lines(capsys)
    assert line["exception"][0]["exc_type"] == "KeyError"


def test_secrets_are_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("gateway", "DEBUG", "json")
    token = SecretStr("tok-super-secret")
    log = get_logger()
    log.info("configured", auth_token=token, settings={"auth_token": "tok-super-secret", "port": 1})
    log.info("call", authorization="Bearer tok-super-secret", password="tok-super-secret")
    out = capsys.readouterr().out
    assert "tok-super-secret" not in out
    assert '"port": 1' in out


def test_console_format_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("catalog", "INFO", "console")
    get_logger().info("hello", answer=42)
    out = capsys.readouterr().out
    assert "hello" in out and "answer=42" in out and not out.lstrip().startswith("{")


JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYW5uIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _fail_with_secrets_in_locals(depth: int) -> None:
    headers = {"authorization": "Bearer static-token-in-a-local", "cookie": "session=cookie-in-a-local"}
    body = "x" * 100_000  # a large request body held by a frame
    if depth:
        _fail_with_secrets_in_locals(depth - 1)
    raise ValueError(f"could not call http://ops:url-password@db.internal/x with {len(headers)} {len(body)}")


def test_an_exception_logs_no_locals_a_bounded_traceback_and_no_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("gateway", "INFO", "json")
    try:
        _fail_with_secrets_in_locals(200)
    except ValueError:
        get_logger().exception("unhandled error")
    out = capsys.readouterr().out
    (line,) = [json.loads(text) for text in out.splitlines()]
    for secret in ("static-token-in-a-local", "cookie-in-a-local", "url-password", "xxxxxxxxxx"):
        assert secret not in out
    assert len(out) < 16_000, len(out)
    (stack,) = line["exception"]
    assert stack["exc_type"] == "ValueError"
    assert len(stack["frames"]) <= 21  # 20 kept, one saying how many were left out
    assert all("locals" not in frame for frame in stack["frames"])


def test_console_tracebacks_are_bounded_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("gateway", "INFO", "console")
    try:
        _fail_with_secrets_in_locals(200)
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = capsys.readouterr().out
    assert "url-password" not in out and "static-token-in-a-local" not in out
    assert "ValueError" in out
    assert len(out) < 16_000, len(out)


def test_credentials_in_messages_and_library_lines_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("gateway", "DEBUG", "json")
    log = get_logger()
    log.info(f"calling with Authorization: Bearer tok-in-message and {JWT}")
    log.info(
        "headers", headers={"Authorization": "Basic dXNlcjpwYXNz", "Cookie": "sid=c00kie", "accept": "*/*"}
    )
    log.info(
        "nested", request={"items": [{"client_secret": "s3cr3t-value"}], "query": "password=hunter2&x=1"}
    )
    logging.getLogger("grpc").warning("refused %s", "token=grpc-tok-value; api_key: key-value-1")
    logging.getLogger("sqlalchemy.pool").error("connect to postgresql://app:db-pass-1@db/app failed")
    out = capsys.readouterr().out
    for secret in (
        "tok-in-message",
        JWT[:20],
        "dXNlcjpwYXNz",
        "c00kie",
        "s3cr3t-value",
        "hunter2",
        "grpc-tok-value",
        "key-value-1",
        "db-pass-1",
    ):
        assert secret not in out, secret
    assert '"accept": "*/*"' in out
    assert "x=1" in out and "postgresql://app:" in out


def test_long_values_are_cut_saying_how_much(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("catalog", "INFO", "json")
    get_logger().warning("big input", value="v" * 1_000_000)
    (line,) = _lines(capsys)
    assert len(line["value"]) < 5000
    assert "characters cut" in line["value"]


@pytest.mark.parametrize(
    "text",
    [
        "eyJ" * 70_000,
        "eyJabcdef." * 20_000,
        "token" * 40_000,
        "token=" * 35_000,
        "a" * 200_000,
        "http://u:" * 25_000,
        "bearer " * 30_000,
        "a=b " * 50_000,
        "token" + " " * 200_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_redaction_takes_linear_time_on_adversarial_text(text: str) -> None:
    started = time.perf_counter()
    redact_text(text)
    # Quadratic patterns take tens of seconds here; linear ones a fraction of one, even on a busy machine.
    assert time.perf_counter() - started < 3


def test_pairs_are_masked_wherever_they_start() -> None:
    text = "headers: authorization=xyz-123, user: password=abc x=1&token=t0k&y=2 'api_key': 'k1'"
    assert redact_text(text) == (
        "headers: authorization=[redacted], user: password=[redacted] "
        "x=1&token=[redacted]&y=2 'api_key': '[redacted]'"
    )
    assert redact_text("the token has expired: Invalid audience") == "the token has expired: Invalid audience"
