"""``paved ops watch ID``: live progress of an operation's steps."""

from __future__ import annotations

import click
from rich.live import Live
from rich.table import Table

from paved_client.commands.common import EXIT_ERROR, console, gateway_options
from paved_client.http import GatewayClient, Operation, Step

STATE_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "succeeded": "green",
    "failed": "red",
    "skipped": "yellow",
    "compensated": "magenta",
    "cancelled": "dim",
}


def steps_table(title: str, steps: dict[str, Step]) -> Table:
    """A table of steps and their state."""
    table = Table(title=title)
    table.add_column("Step")
    table.add_column("State")
    table.add_column("Attempts", justify="right")
    table.add_column("Detail")
    for step in steps.values():
        style = STATE_STYLE.get(step["state"], "")
        detail = step.get("error") or step.get("detail") or ""
        table.add_row(step["name"], f"[{style}]{step['state']}[/{style}]", str(step["attempts"]), detail)
    return table


def watch_operation(client: GatewayClient, operation: str) -> Operation | None:
    """Follow the operation's event stream, redrawing the steps; returns the finished operation."""
    steps: dict[str, Step] = {}
    finished: Operation | None = None
    with Live(steps_table(operation, steps), console=console, refresh_per_second=8, transient=False) as live:
        for event in client.operation_events(operation):
            if event.event == "step":
                steps[event.data["name"]] = event.data
            elif event.event == "done":
                finished = event.data
                for step in finished["steps"]:
                    steps[step["name"]] = step
            elif event.event == "error":
                console.print(f"[red]stream error:[/red] {event.data.get('message')}")
            live.update(steps_table(operation, steps))
    return finished


def report(finished: Operation | None) -> None:
    """Say how it ended; exit non-zero unless it succeeded."""
    if finished is None:
        console.print("[yellow]the event stream ended before the operation finished[/yellow]")
        raise SystemExit(EXIT_ERROR)
    if finished["status"] == "succeeded":
        console.print(f"[green]✓ {finished['kind']} of {finished['service']} succeeded[/green]")
        return
    error = finished.get("error") or {}
    console.print(
        f"[red]✗ {finished['kind']} of {finished['service']} failed:[/red] {error.get('message', '')}"
    )
    raise SystemExit(EXIT_ERROR)


@click.group()
def ops() -> None:
    """Long-running operations."""


@ops.command("watch")
@click.argument("operation")
@gateway_options
def watch(operation: str, *, client: GatewayClient) -> None:
    """Follow OPERATION (id or operations/ID) until it finishes."""
    report(watch_operation(client, operation))


@ops.command("get")
@click.argument("operation")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def get(operation: str, as_json: bool, *, client: GatewayClient) -> None:
    """Show OPERATION's state once."""
    result = client.get_operation(operation)
    if as_json:
        from paved_client.commands.common import print_json

        print_json(result)
        return
    console.print(
        steps_table(f"{result['name']} ({result['status']})", {s["name"]: s for s in result["steps"]})
    )
