"""``paved templates``: the golden paths on offer."""

from __future__ import annotations

import click
from rich.table import Table

from paved_client.commands.common import console, gateway_options, print_json
from paved_client.http import GatewayClient


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def templates(as_json: bool, *, client: GatewayClient) -> None:
    """List golden-path templates and their parameters."""
    page = client.list_templates()
    if as_json:
        print_json(page)
        return
    table = Table(title="Templates")
    table.add_column("Template", style="cyan")
    table.add_column("Description")
    table.add_column("Parameters")
    for template in page["templates"]:
        parameters = ", ".join(
            p["name"] + ("*" if p.get("required") and "default_value" not in p else "")
            for p in template["parameters"]
        )
        table.add_row(template["id"], template["description"], parameters)
    console.print(table)
    console.print("[dim]* required[/dim]")
