"""``paved optimize``: a service's rightsizing recommendation and the evidence behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import console, gateway_options, money, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient

MIB = 1024.0**2


def _cpu(cores: float | None) -> str:
    return "—" if cores is None else f"{cores * 1000:.0f}m"


def _memory(size: float | None) -> str:
    return "—" if size is None else f"{size / MIB:.0f}Mi"


def _amount(value: dict[str, Any]) -> float:
    return int(value.get("units", 0) or 0) + (value.get("nanos", 0) or 0) / 1e9


@click.command()
@click.argument("service")
@click.option("--environment", help="Environment of the service's history and compute.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def optimize(service: str, environment: str | None, as_json: bool, *, client: GatewayClient) -> None:
    """Show SERVICE's rightsizing: requests, limits and replicas, with the usage evidence."""
    found = client.service_recommendations(service, environment=environment)
    if as_json:
        print_json(found)
        return
    table = new_table(title=f"Rightsizing of {found['service']} ({found.get('history_source', '')} history)")
    for column in (
        "Resource",
        "Request now",
        "Recommended",
        "Limit now",
        "Limit",
        "p50",
        "p95",
        "Peak",
        "Why",
    ):
        table.add_column(column)
    for name, show in (("cpu", _cpu), ("memory", _memory)):
        advice = found.get(name, {})
        evidence = advice.get("evidence", {})
        table.add_row(
            name,
            show(advice.get("current_request", 0.0)),
            show(advice.get("recommended_request", 0.0)),
            show(advice.get("current_limit")),
            show(advice.get("recommended_limit")),
            show(evidence.get("p50", 0.0)),
            show(evidence.get("p95", 0.0)),
            show(evidence.get("peak", 0.0)),
            "; ".join(advice.get("reasons", [])),
        )
    console.print(table)
    savings = found.get("monthly_savings", {})
    console.print(
        f"Replicas {found.get('current_replicas', 0)} → min {found.get('min_replicas', 0)}, "
        f"max {found.get('max_replicas', 0)}; instance type {found.get('current_instance_type') or '—'} → "
        f"{found.get('recommended_instance_type') or '—'}; "
        f"saving {money(_amount(savings), savings.get('currency_code', 'USD'))}/month; "
        f"{found.get('confidence', 0.0):.1f} days of history"
    )
    for reason in found.get("reasons", []):
        console.print(f"• {reason}")
    if not found.get("changes"):
        console.print("Nothing to change now.")
