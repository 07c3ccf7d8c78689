"""The Backstage Software Templates in deploy/backstage send what the gateway accepts: each template's
`paved:service:create` step input is rendered as the scaffolder would (typed values) and sent as the
action sends it; the service must become active. (tests/integration/backstage runs them through a real
Backstage backend.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from e2e_suite import wait_for_operation

TEMPLATES = Path(__file__).parents[2] / "deploy" / "backstage" / "templates"
EXPRESSION = re.compile(r"^\$\{\{\s*(.+?)\s*\}\}$")


def form_values(template: dict[str, Any], name: str) -> dict[str, Any]:
    """What a user submits: every default, plus a value for each required field without one."""
    values: dict[str, Any] = {}
    for page in template["spec"]["parameters"]:
        for key, field in page.get("properties", {}).items():
            if "default" in field:
                values[key] = field["default"]
            elif "enum" in field:
                values[key] = field["enum"][0]
    values.update({"service_name": name, "team": "group:default/payments"})
    if "schedule" in template["spec"]["parameters"][0].get("required", []):
        values["schedule"] = "*/5 * * * *"
    return values


def evaluate(expression: str, parameters: dict[str, Any]) -> Any:
    """The scaffolder's nunjucks expressions the templates use: a parameter, optionally piped through
    ``parseEntityRef | pick('name')``."""
    parts = [part.strip() for part in expression.split("|")]
    assert parts[0].startswith("parameters."), expression
    value = parameters[parts[0].removeprefix("parameters.")]
    for pipe in parts[1:]:
        if pipe == "parseEntityRef":
            kind, _, rest = value.partition(":")
            namespace, _, entity = rest.rpartition("/")
            value = {"kind": kind, "namespace": namespace or "default", "name": entity}
        elif pipe == "pick('name')":
            value = value["name"]
        else:
            raise AssertionError(f"filter not supported by this test: {pipe}")
    return value


def render(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: render(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, parameters) for item in value]
    if isinstance(value, str):
        match = EXPRESSION.match(value)
        if match:  # a whole-value expression keeps its type, as in the scaffolder
            return evaluate(match.group(1), parameters)
        assert "${{" not in value, f"partial expressions are not used in request bodies: {value}"
    return value


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yaml")), ids=lambda p: p.stem)
def test_template_step_is_accepted_by_the_gateway(
    path: Path, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    template = yaml.safe_load(path.read_text())
    assert template["apiVersion"] == "scaffolder.backstage.io/v1beta3" and template["kind"] == "Template"
    (step,) = [s for s in template["spec"]["steps"] if s["action"] == "paved:service:create"]
    values = render(step["input"], form_values(template, unique_name(path.stem[:12])))
    assert values["team"] == "group:default/payments"
    body = {
        "name": values["name"],
        "team": values["team"].rpartition("/")[2],
        "template": values["template"],
        "environment": values["environment"],
        "parameters": values["parameters"],
    }
    response = payments.post("/api/services", json=body)
    assert response.status_code == 202, response.text
    operation = wait_for_operation(payments, response.json()["operation"])
    assert operation["status"] == "succeeded", operation
    assert payments.get(f"/api/services/{body['name']}").json()["status"] == "active"
