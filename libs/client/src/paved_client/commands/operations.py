"""``paved ops watch ID``: live progress of an operation's steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import EXIT_ERROR, console, esc, gateway_options, new_table, print_json
from paved_client.commands.feedback import Elapsed, real_console

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

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
    table = new_table(title=esc(title))
    table.add_column("Step")
    table.add_column("State")
    table.add_column("Attempts", justify="right")
    table.add_column("Detail")
    for step in steps.values():
        style = STATE_STYLE.get(step["state"], "")
        detail = step.get("error") or step.get("detail") or ""
        table.add_row(
            esc(step["name"]), f"[{style}]{esc(step['state'])}[/{style}]", str(step["attempts"]), esc(detail)
        )
    return table


class _Progress:
    """What the live view shows: a spinner with the elapsed time until the first step is known, then the
    steps table with the elapsed time under it."""

    def __init__(self, operation: str, steps: dict[str, Step]) -> None:
        self.operation = operation
        self.steps = steps
        self.elapsed = Elapsed(f"waiting for {operation}")

    def __rich__(self) -> RenderableType:
        if not self.steps:
            return self.elapsed
        from rich.console import Group

        self.elapsed.label = "running"
        return Group(steps_table(self.operation, self.steps), self.elapsed)


def watch_operation(client: GatewayClient, operation: str) -> Operation | None:
    """Follow the operation's event stream, redrawing the steps; returns the finished operation.

    Nothing is drawn for good until the first event arrives (an unknown id prints only its error), and the
    final table is printed once when the stream ends.
    """
    from rich.live import Live

    steps: dict[str, Step] = {}
    finished: Operation | None = None
    progress = _Progress(operation, steps)
    with Live(progress, console=real_console(console), refresh_per_second=8, transient=True):
        for event in client.operation_events(operation):
            if event.event == "step":
                steps[event.data["name"]] = event.data
            elif event.event == "done":
                finished = event.data
                for step in finished["steps"]:
                    steps[step["name"]] = step
            elif event.event == "error":
                console.print(f"[red]stream error:[/red] {esc(event.data.get('message'))}")
    if steps:
        console.print(steps_table(operation, steps))
    return finished


def outcome(finished: Operation | dict[str, Any]) -> str:
    """How it ended in words; a success whose steps were skipped says which (a skipped test is no test)."""
    if finished.get("summary"):
        return str(finished["summary"])
    status = str(finished["status"])
    if status != "succeeded":
        return status
    steps = finished.get("steps") or []
    skipped = [step["name"] for step in steps if step.get("state") == "skipped"]
    if not skipped:
        return "succeeded"
    return f"succeeded ({len(skipped)} of {len(steps)} steps skipped: {', '.join(skipped)})"


def report(finished: Operation | None) -> None:
    """Say how it ended; exit non-zero unless it succeeded."""
    if finished is None:
        console.print("[yellow]the event stream ended before the operation finished[/yellow]")
        raise SystemExit(EXIT_ERROR)
    what = f"{esc(finished['kind'])} of {esc(finished['service'])}"
    if finished["status"] == "succeeded":
        words = esc(outcome(finished))
        style = "green" if words == "succeeded" else "yellow"
        # A blank line first: in a pipe the mark would otherwise sit against the table's border.
        console.print()
        console.print(f"[{style}]✓ {what} {words}[/{style}]")
        return
    error = finished.get("error") or {}
    console.print()
    console.print(f"[red]✗ {what} failed:[/red] {esc(error.get('message', ''))}")
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
        print_json(result)
        return
    console.print(
        steps_table(f"{result['name']} ({outcome(result)})", {s["name"]: s for s in result["steps"]})
    )
