"""What the CLI prints, read the way a person reads it: rules in plain text (never eaten by markup), the
estimate in ``status``, templates with defaults and allowed values, skipped steps named, empty states said.
The gateway here is a real HTTP server with canned answers; tests/e2e runs the same commands on the suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from paved_client.cli import main
from paved_client.commands.common import number

from .conftest import HttpServer

TEMPLATES = {
    "templates": [
        {
            "id": "web-service",
            "description": "An HTTP service",
            "parameters": [
                {"name": "service_name", "type": "TYPE_STRING", "required": True},
                {"name": "language", "type": "TYPE_ENUM", "required": True, "values": ["python", "go"]},
                {"name": "port", "type": "TYPE_INT", "default_value": 8080.0, "min": "1", "max": "65535"},
                {"name": "public", "type": "TYPE_BOOL", "default_value": False},
            ],
            "workflows": [{"name": "deploy"}],
        }
    ]
}


@pytest.fixture
def run(http_server: HttpServer, tmp_path: Path) -> Any:
    env = {"PAVED_URL": http_server.url, "PAVED_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200"}

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def answer(server: HttpServer, status: int, body: Any) -> None:
    server.reply(status, json.dumps(body).encode())


def test_a_rule_with_brackets_prints_as_it_is(run: Any, http_server: HttpServer) -> None:
    rule = "must match ^[a-z]([-a-z0-9]*[a-z0-9])?$"
    error = {"name": "InputError", "message": "the request is invalid: 1 problem"}
    answer(
        http_server, 400, {"error": {**error, "fieldViolations": [{"field": "name", "description": rule}]}}
    )
    result = run("create", "--name", "Bad", "--team", "payments", "--template", "web-service")
    assert result.exit_code == 1
    assert rule in result.output


def test_unknown_template_lists_the_templates(run: Any, http_server: HttpServer) -> None:
    violation = {"field": "template", "description": "no template named 'web'"}
    answer(
        http_server, 400, {"error": {"name": "InputError", "message": "bad", "fieldViolations": [violation]}}
    )
    answer(http_server, 200, TEMPLATES)
    result = run("create", "--name", "x", "--team", "payments", "--template", "web")
    assert result.exit_code == 1 and "Templates: web-service" in result.output


def test_templates_show_defaults_allowed_values_and_what_create_fills(
    run: Any, http_server: HttpServer
) -> None:
    answer(http_server, 200, TEMPLATES)
    listing = run("templates")
    assert listing.exit_code == 0, listing.output
    assert "language* (python|go)" in listing.output and "port = 8080" in listing.output
    assert "service_name" not in listing.output and "8080.0" not in listing.output

    answer(http_server, 200, TEMPLATES)
    detail = run("templates", "web-service")
    assert detail.exit_code == 0, detail.output
    line = {row.split("│")[1].strip(): row for row in detail.output.splitlines() if row.count("│") > 3}
    assert "from --name" in line["service_name"] and "required" not in line["service_name"]
    assert "python | go" in line["language"] and "required" in line["language"]
    assert "1..65535" in line["port"] and "8080" in line["port"]
    assert "false" in line["public"]

    answer(http_server, 200, TEMPLATES)
    wrong = run("templates", "web")
    assert wrong.exit_code == 1 and "choose one of: web-service" in wrong.output


def test_status_shows_the_estimate(run: Any, http_server: HttpServer) -> None:
    service = {
        "id": "checkout",
        "name": "checkout",
        "status": "active",
        "health": "healthy",
        "metrics": None,
        "cost": {
            "current_month": 0.0,
            "projected_month": 0.0,
            "currency": "USD",
            "estimated_monthly_cost": 744.6,
        },
        "endpoints": [],
        "unavailable": [],
    }
    answer(http_server, 200, service)
    result = run("status", "checkout")
    assert result.exit_code == 0, result.output
    assert "Estimate (monthly)" in result.output and "$744.60" in result.output


def test_costs_say_new_instead_of_a_percentage_of_nothing_and_hide_idle_teams(
    run: Any, http_server: HttpServer
) -> None:
    row = {"currency": "USD", "services": 1, "trend": "up", "trend_percent": 100.0}
    teams = [
        {**row, "team": "payments", "current_month": 12.0, "projected_month": 30.0, "previous_month": 0.0},
        *(
            {**row, "team": f"t{i}", "current_month": 0, "projected_month": 0, "previous_month": 0}
            for i in range(3)
        ),
    ]
    answer(http_server, 200, {"month": "2024-09", "teams": teams, "total": 12.0, "currency": "USD"})
    answer(
        http_server, 200, {"items": [{"kind": "RECOMMENDATION_KIND_SPOT", "monthly_savings": {"units": "3"}}]}
    )
    result = run("costs", "--recommendations")
    assert result.exit_code == 0, result.output
    assert "new" in result.output and "+100.0%" not in result.output
    assert "t0" not in result.output and "3 team(s) with no cost in 2024-09 not shown" in result.output
    assert "spot" in result.output and "recommendation_kind" not in result.output


def test_no_alerts_is_said(run: Any, http_server: HttpServer) -> None:
    answer(http_server, 200, {"items": []})
    result = run("alerts")
    assert result.exit_code == 0 and "none firing" in result.output


def test_unreachable_gateway_says_how_to_start_it(run: Any) -> None:
    result = CliRunner().invoke(main, ["templates", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "HTTP 0" not in result.output and "make run" in result.output


def test_watch_of_an_unknown_operation_prints_only_the_error(run: Any, http_server: HttpServer) -> None:
    answer(http_server, 404, {"error": {"name": "NotFoundError", "message": "operations/nope not found"}})
    result = run("ops", "watch", "nope")
    assert result.exit_code == 1
    assert "not found" in result.output and "Step" not in result.output


def test_a_success_with_skipped_steps_says_so_off_the_table(run: Any, http_server: HttpServer) -> None:
    steps = [
        {"name": name, "state": state, "attempts": 1}
        for name, state in [
            ("validate_config", "succeeded"),
            ("run_tests", "skipped"),
            ("build_image", "skipped"),
        ]
    ]
    done = {"kind": "deploy", "service": "checkout", "status": "succeeded", "steps": steps}
    stream = f"event: done\ndata: {json.dumps(done)}\n\n".encode()
    http_server.reply(200, stream, content_type="text/event-stream")
    result = run("ops", "watch", "op-1")
    assert result.exit_code == 0, result.output
    last = result.output.rstrip().splitlines()[-1]
    assert last == "✓ deploy of checkout succeeded (2 of 3 steps skipped: run_tests, build_image)"


def test_numbers_print_as_written() -> None:
    assert (number(10_000_000.0), number(132.021), number(3), number(0.5)) == (
        "10,000,000",
        "132.021",
        "3",
        "0.5",
    )
