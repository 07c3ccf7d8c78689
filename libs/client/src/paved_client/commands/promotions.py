"""``paved promote NAME --from staging --to production [--wait]``: promote what runs in one environment
into a later one, and show each gate with what it found."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import EXIT_ERROR, console, esc, gateway_options, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient

POLL_SECONDS = 0.5
DONE = ("succeeded", "failed")


def gates_table(name: str, promotion: dict[str, Any]) -> Any:
    """The promotion's gates, their state and evidence."""
    table = new_table(title=esc(f"Promotion of {name} to {promotion['target']}: {promotion['phase']}"))
    table.add_column("Gate")
    table.add_column("State")
    table.add_column("Evidence")
    for gate in promotion["gates"]:
        table.add_row(esc(gate["gate"]), esc(gate["state"]), esc(gate.get("evidence") or ""))
    return table


@click.command()
@click.argument("name")
@click.option("--from", "source", required=True, help="Environment to promote from, e.g. staging.")
@click.option("--to", "target", required=True, help="Later environment to promote into, e.g. production.")
@click.option("--version", help="A version that ran in --from [default: what runs there now].")
@click.option("--wait/--no-wait", default=False, help="Follow the promotion until it finishes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def promote(
    name: str,
    source: str,
    target: str,
    version: str | None,
    wait: bool,
    as_json: bool,
    *,
    client: GatewayClient,
) -> None:
    """Promote NAME from one environment to a later one, through its gates."""
    promotion = client.promote(name, source=source, target=target, version=version)
    if not as_json:
        console.print(
            f"[green]✓[/green] promotion of [bold]{esc(name)}[/bold] {esc(source)} → {esc(target)} "
            f"started: {esc(promotion['operation'])}"
        )
    told_waiting = False
    while wait and promotion["phase"] not in DONE:
        if promotion["phase"] == "waiting_for_approval" and not told_waiting and not as_json:
            console.print(
                f"waiting for an approval: POST /api/services/{esc(name)}/promotions/"
                f"{esc(promotion['id'])}/approve with a reason"
            )
            told_waiting = True
        time.sleep(POLL_SECONDS)
        promotion = client.get_promotion(name, promotion["id"])
    if as_json:
        print_json(promotion)
    else:
        console.print(gates_table(name, promotion))
        if promotion.get("error"):
            console.print(f"[red]{esc(promotion['error']['message'])}[/red]")
    if promotion["phase"] == "failed":
        raise SystemExit(EXIT_ERROR)
