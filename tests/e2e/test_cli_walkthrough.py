"""The walkthrough of services/gateway/README.md, every `paved` command in it, run against the whole
suite; plus the CLI's readable errors and exit codes."""

from __future__ import annotations

import json
import re
import shlex
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TOKENS
from e2e_suite import Suite
from paved_client.cli import main

README = Path(__file__).parents[2] / "services" / "gateway" / "README.md"


def walkthrough_commands() -> list[list[str]]:
    section = README.read_text().split("## Walkthrough", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [shlex.split(line) for line in block.group(1).splitlines() if line.startswith("paved ")]


@pytest.fixture
def env(suite: Suite) -> dict[str, str]:
    return {"PAVED_URL": suite.gateway_url, "PAVED_TOKEN": str(TOKENS["payments"]["token"]), "COLUMNS": "200"}


def test_readme_walkthrough(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PAVED_CONFIG": str(tmp_path / "none.toml")}
    name = f"checkout-{uuid.uuid4().hex[:6]}"
    commands = walkthrough_commands()
    assert [c[1] for c in commands] == ["templates", "create", "status", "costs", "alerts", "services"]
    runner = CliRunner()
    outputs = {}
    for command in commands:
        args = [name if arg == "checkout" else arg for arg in command[1:]]
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, f"{shlex.join(command)}\n{result.output}"
        outputs[command[1]] = result.output
    assert "web-service" in outputs["templates"]
    assert "succeeded" in outputs["create"]
    assert "active" in outputs["status"] and "Estimate (monthly)" in outputs["status"]
    assert "Costs" in outputs["costs"]
    assert "High Error Rate" in outputs["alerts"]
    assert name in outputs["services"]


def test_errors_are_readable_with_a_non_zero_exit(env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "create",
            "--name",
            "Bad_Name",
            "--team",
            "payments",
            "--template",
            "web-service",
            "--param",
            "language=cobol",
        ],
        env=env,
    )
    assert result.exit_code == 1
    assert "InputError" in result.output and "name" in result.output

    result = runner.invoke(main, ["status", "someone-elses"], env=env)
    assert result.exit_code == 1 and "NotAllowedError" in result.output

    result = runner.invoke(main, ["templates"], env={**env, "PAVED_TOKEN": "wrong-token-000000000000"})
    assert result.exit_code == 1 and "AuthenticationError" in result.output

    result = runner.invoke(main, ["templates"], env={**env, "PAVED_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1 and "cannot reach the gateway" in result.output


def test_policies_evaluate_file_gates_on_the_decision(env: dict[str, str], tmp_path: Path) -> None:
    plan = tmp_path / "resources.yaml"
    plan.write_text(
        "context: {team: payments, environment: production}\n"
        "resources:\n"
        "  - name: database\n"
        "    type: database\n"
        "    properties: {engine: postgres, encrypted: false, storage_gb: 20}\n"
        "    tags: {team: payments}\n"
    )
    result = CliRunner().invoke(main, ["policies", "evaluate", str(plan), "--json"], env=env)
    assert "outcome" in result.output, result.output
    assert result.exit_code in {0, 1}
    # An unencrypted database without owner tags must not be allowed silently.
    assert '"outcome": "ALLOW"' not in result.output


def test_deploy_then_ops_watch(env: dict[str, str]) -> None:
    name = f"watched-{uuid.uuid4().hex[:6]}"
    runner = CliRunner()
    created = runner.invoke(
        main,
        [
            "create",
            "--name",
            name,
            "--team",
            "payments",
            "--template",
            "web-service",
            "--param",
            "language=go",
            "--param",
            "database=none",
            "--wait",
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    deployed = runner.invoke(main, ["deploy", name, "--version", "1.0.1", "--json"], env=env)
    assert deployed.exit_code == 0, deployed.output
    operation = json.loads(deployed.output)["operation"]
    watched = runner.invoke(main, ["ops", "watch", operation.removeprefix("operations/")], env=env)
    assert "workflow:deploy" in watched.output, watched.output
    # Exit code follows the outcome: 0 when the workflow succeeded, 1 when it failed.
    assert watched.exit_code == (0 if "succeeded" in watched.output.splitlines()[-1] else 1), watched.output
    shown = runner.invoke(main, ["ops", "get", operation, "--json"], env=env)
    assert shown.exit_code == 0 and json.loads(shown.output)["kind"] == "workflow:deploy"
