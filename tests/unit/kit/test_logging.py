"""Logs are JSON off a terminal, carry the request context (also for stdlib loggers), never secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from paved_kit.context import bind_request
from paved_kit.logging import configure_logging, get_logger
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
