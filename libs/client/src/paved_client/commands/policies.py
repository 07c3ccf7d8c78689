"""``paved policies evaluate FILE``: check resources against the policies before asking for them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import EXIT_ERROR, console, gateway_options, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient

BLOCKING = {"DENY", "NEEDS_OVERRIDE"}


@click.group()
def policies() -> None:
    """Policy as code."""


@policies.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def evaluate(file: Path, as_json: bool, *, client: GatewayClient) -> None:
    """Evaluate the resources in FILE (YAML or JSON: {resources: [...], context: {team, environment}}).

    Exits non-zero when the decision is DENY or NEEDS_OVERRIDE, so CI can gate on it.
    """
    import yaml

    try:
        body: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"not valid YAML/JSON: {exc}", param_hint="FILE") from None
    if not isinstance(body, dict):
        raise click.BadParameter("must be a mapping with resources and context", param_hint="FILE")
    result = client.evaluate_policies(body)
    if as_json:
        print_json(result)
    else:
        table = new_table(title=f"Decision: {result['outcome']}")
        for column in ("Resource", "Policy", "Level", "Message"):
            table.add_column(column)
        for resource in result.get("results", []):
            for violation in resource.get("violations", []):
                table.add_row(
                    resource.get("resource", ""),
                    violation.get("policy", ""),
                    str(violation.get("enforcement_level", "")).removeprefix("ENFORCEMENT_LEVEL_").lower(),
                    violation.get("message", ""),
                )
        console.print(table)
        if result.get("summary"):
            console.print(result["summary"])
    if result["outcome"] in BLOCKING:
        raise SystemExit(EXIT_ERROR)
