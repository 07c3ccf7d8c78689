"""An unexpected failure in the gateway, served by uvicorn over real HTTP: the caller gets a 500 in
Backstage's shape naming the request id, and the log gets exactly one line for it — with a bounded
traceback and none of the caller's credentials (uvicorn and Starlette log nothing of their own)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import structlog
import uvicorn
from fastapi import Request
from paved_gateway.app import create_app
from paved_gateway.settings import GatewaySettings
from paved_kit.logging import configure_logging

TOKEN = "failure-log-admin-token-5f0c2a"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvZXZlIn0.c2lnbmF0dXJlLWZhaWx1cmUtbG9n"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_paved_handler", False):
            root.removeHandler(handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def gateway_url() -> AsyncIterator[str]:
    configure_logging("gateway", "DEBUG", "json")
    settings = GatewaySettings.model_validate(
        {"tokens": json.dumps([{"token": TOKEN, "subject": "ops", "roles": ["admin"]}])}
    )
    app = create_app(settings)

    @app.post("/api/failing")
    async def failing(request: Request) -> None:
        # Frame locals holding what a careless handler would hold: the headers and the body.
        headers = dict(request.headers)
        body = await request.body()
        raise ValueError(f"could not handle {len(body)} bytes with {headers['authorization']}")

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1200):  # a busy machine may take a while to start it
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_a_500_is_one_bounded_line_without_credentials(
    gateway_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        response = await client.post(
            "/api/failing",
            json={"password": "body-password-77", "deep": [[[[["x" * 50_000]]]]]},
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Cookie": f"session={JWT}",
                "x-request-id": "req-failure-log-1",
            },
        )
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["message"] == "internal error (request id req-failure-log-1)"
    assert body["error"]["requestId"] == "req-failure-log-1"
    assert body["response"] == {"statusCode": 500}
    assert TOKEN not in response.text

    out = capsys.readouterr().out
    for secret in (TOKEN, JWT, "body-password-77", "x" * 5000):
        assert secret not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    about_it = [line for line in lines if line.get("request_id") == "req-failure-log-1"]
    assert len(about_it) == 1, about_it
    (line,) = about_it
    assert (line["event"], line["status"], line["level"]) == ("http request", 500, "error")
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert "Bearer [redacted]" in line["exception"][0]["exc_value"]
    # Nothing else about it either: no "Exception in ASGI application" from uvicorn, no second traceback.
    assert [entry for entry in lines if "exception" in entry] == [line]
    assert len(out) < 20_000
