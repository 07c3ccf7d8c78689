"""The CLI's gateway client: configuration precedence, Backstage error bodies, server-sent events,
and how the commands print errors (the gateway is an in-test HTTP app, not a Paved service)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paved_client.commands.services import parse_params
from paved_client.config import DEFAULT_URL, ConfigError, load_config
from paved_client.http import GatewayClient, GatewayError, _parse_events

from .conftest import HttpServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("PAVED_URL", "PAVED_TOKEN", "PAVED_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("PAVED_CONFIG", str(config))
    return config


def test_defaults_without_any_configuration() -> None:
    config = load_config()
    assert (config.url, config.token, config.timeout) == (DEFAULT_URL, None, 30.0)


def test_flag_beats_env_beats_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text('url = "http://file:1"\ntoken = "file-token"\ntimeout = 5\n')
    assert load_config().url == "http://file:1" and load_config().token == "file-token"
    monkeypatch.setenv("PAVED_URL", "http://env:2/")
    monkeypatch.setenv("PAVED_TOKEN", "env-token")
    assert load_config().url == "http://env:2" and load_config().token == "env-token"
    flagged = load_config(url="https://flag:3", token="flag-token", timeout=1)
    assert (flagged.url, flagged.token, flagged.timeout) == ("https://flag:3", "flag-token", 1.0)


def test_token_is_masked_in_repr() -> None:
    assert "secret-value" not in repr(load_config(token="secret-value"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("url = ", "not valid TOML"),
        ('colour = "blue"', "unknown keys"),
        ('url = "ftp://x"', "must start with http"),
        ("timeout = -1", "must be positive"),
    ],
)
def test_bad_config_file_is_reported(clean_env: Path, content: str, message: str) -> None:
    clean_env.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_params_are_typed() -> None:
    assert parse_params(("replicas=3", "spot=true", "language=go", "ratio=0.5", "empty=")) == {
        "replicas": 3,
        "spot": True,
        "language": "go",
        "ratio": 0.5,
        "empty": "",
    }


def test_param_without_equals_is_refused() -> None:
    import click

    with pytest.raises(click.BadParameter):
        parse_params(("oops",))


def test_backstage_error_body_becomes_gateway_error(http_server: HttpServer) -> None:
    body = {
        "error": {
            "name": "InputError",
            "message": "bad",
            "fieldViolations": [{"field": "name", "description": "x"}],
        },
        "request": {"method": "POST", "url": "/api/services"},
        "response": {"statusCode": 400},
    }
    http_server.reply(400, json.dumps(body).encode())
    client = GatewayClient(load_config(url=http_server.url, token="t0k3n"))
    with client, pytest.raises(GatewayError) as caught:
        client.create_service(name="x", team="t", template="web-service", idempotency_key="k1")
    assert (caught.value.status, caught.value.name, caught.value.message) == (400, "InputError", "bad")
    assert caught.value.details["fieldViolations"][0]["field"] == "name"
    seen = http_server.requests[0]
    assert (seen.method, seen.path) == ("POST", "/api/services")
    assert seen.headers["authorization"] == "Bearer t0k3n"
    assert seen.headers["idempotency-key"] == "k1"
    assert json.loads(seen.body)["template"] == "web-service"


def test_query_parameters_and_a_path_prefix_reach_the_server(http_server: HttpServer) -> None:
    http_server.reply(200, b'{"services": []}')
    with GatewayClient(load_config(url=f"{http_server.url}/paved/")) as client:
        assert client.list_services(team="payments", state=None) == {"services": []}
    assert http_server.requests[0].path == "/paved/api/services?team=payments"


def test_non_json_error_is_still_readable(http_server: HttpServer) -> None:
    http_server.reply(502, b"bad gateway", content_type="text/plain")
    with GatewayClient(load_config(url=http_server.url)) as client, pytest.raises(GatewayError) as caught:
        client.list_templates()
    assert caught.value.status == 502 and "bad gateway" in caught.value.message


def test_event_stream_over_http(http_server: HttpServer) -> None:
    stream = (
        b'event: step\ndata: {"name": "a", "state": "running"}\n\n'
        b'event: done\ndata: {"status": "succeeded"}\n\n'
    )
    http_server.reply(200, stream, content_type="text/event-stream")
    with GatewayClient(load_config(url=http_server.url)) as client:
        events = list(client.operation_events("operations/op-1"))
    assert [e.event for e in events] == ["step", "done"]
    assert http_server.requests[0].path == "/api/operations/op-1/events"


def test_event_stream_framing() -> None:
    lines = [
        ": keep-alive",
        "event: step",
        "id: 1",
        'data: {"name": "gitops_commit", "state": "running"}',
        "",
        "event: done",
        'data: {"status":',
        'data:  "succeeded"}',
        "",
    ]
    events = list(_parse_events(iter(lines)))
    assert [(e.event, e.id) for e in events] == [("step", "1"), ("done", None)]
    assert events[0].data["state"] == "running"
    assert events[1].data == {"status": "succeeded"}


def test_cli_prints_errors_readably_and_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    from paved_client.cli import main

    monkeypatch.setenv("PAVED_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    result = CliRunner().invoke(main, ["status", "checkout"])
    assert result.exit_code == 1
    assert "cannot reach the gateway" in result.output
    assert "Traceback" not in result.output


def test_cli_config_error_exits_2(clean_env: Path) -> None:
    from paved_client.cli import main

    clean_env.write_text("url = ")
    result = CliRunner().invoke(main, ["templates"])
    assert result.exit_code == 2 and "configuration error" in result.output
