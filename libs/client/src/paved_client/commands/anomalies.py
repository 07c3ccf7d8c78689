"""``paved anomalies``, ``paved forecast`` and ``paved cost-anomalies``: a service's anomalies with their
likely causes, its hourly forecast with the backtest that says how far to trust it, and cost anomalies with
the FOCUS values that moved."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from paved_client.commands.common import console, gateway_options, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient


@click.command()
@click.argument("service")
@click.option("--metric", help="One metric (default: request rate, error rate, p99 latency and CPU).")
@click.option("--sensitivity", type=click.Choice(["low", "medium", "high"]), help="Default: the rule's.")
@click.option("--days", type=int, help="Days back (default 14).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def anomalies(
    service: str,
    metric: str | None,
    sensitivity: str | None,
    days: int | None,
    as_json: bool,
    *,
    client: GatewayClient,
) -> None:
    """List SERVICE's anomalies: when, which metric, how far from normal, and the likely cause."""
    found = client.service_anomalies(service, metric=metric, sensitivity=sensitivity, days=days)
    if as_json:
        print_json(found)
        return
    table = new_table(title=f"Anomalies of {service} (sensitivity {found.get('sensitivity', '')})")
    for column in ("Start", "End", "Metric", "Kind", "Score", "Likely cause"):
        table.add_column(column)
    for item in found.get("anomalies", []):
        causes = item.get("likely_causes", [])
        cause = (
            f"{causes[0]['kind']} {causes[0]['operation']} ({causes[0].get('environment', '')})"
            if causes
            else "—"
        )
        table.add_row(
            item.get("start_time", ""),
            item.get("end_time", ""),
            item.get("metric", ""),
            item.get("kind", ""),
            f"{item.get('score', 0.0):.1f}",
            cause,
        )
    console.print(table)
    if found.get("causes_unavailable"):
        console.print(f"Likely causes unavailable: {found['causes_unavailable']}")
    for reason in found.get("skipped", []):
        console.print(f"Not scored: {reason}")


@click.command()
@click.argument("service")
@click.option("--metric", default="requests_per_second", show_default=True)
@click.option("--horizon", type=int, default=24, show_default=True, help="Hours ahead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def forecast(service: str, metric: str, horizon: int, as_json: bool, *, client: GatewayClient) -> None:
    """Forecast SERVICE's METRIC hourly, with its backtest and the minimum-replicas schedule."""
    found = client.service_forecast(service, metric=metric, horizon=horizon)
    if as_json:
        print_json(found)
        return
    backtest = found.get("backtest", {})
    scaling = found.get("scaling", {})
    by_time = {hour.get("time"): hour.get("min_replicas") for hour in scaling.get("hours", [])}
    table = new_table(title=f"Forecast of {service} {metric} ({found.get('history_hours', 0)} h of history)")
    for column in ("Hour", "Lower", "Mean", "Upper", "Min replicas"):
        table.add_column(column)
    for point in found.get("points", []):
        table.add_row(
            point.get("time", ""),
            f"{point.get('lower', 0.0):.3g}",
            f"{point.get('mean', 0.0):.3g}",
            f"{point.get('upper', 0.0):.3g}",
            str(by_time.get(point.get("time"), "—")),
        )
    console.print(table)
    console.print(
        f"Backtest over {backtest.get('folds', 0)} origins: MAPE {backtest.get('mape', 0.0):.1f}% "
        f"(seasonal-naive {backtest.get('naive_mape', 0.0):.1f}%), MASE {backtest.get('mase', 0.0):.2f} "
        f"(seasonal-naive {backtest.get('naive_mase', 0.0):.2f})"
    )
    if scaling:
        console.print(f"Scaling: {scaling.get('mode', '')} — {scaling.get('reason', '')}")


@click.command("cost-anomalies")
@click.option("--team", help="Only this team's services and the team.")
@click.option("--service", help="Only this service.")
@click.option("--days", type=int, help="Days back (default 30).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def cost_anomalies(
    team: str | None, service: str | None, days: int | None, as_json: bool, *, client: GatewayClient
) -> None:
    """List days whose cost of a service or team departs from the usual, and the FOCUS values that moved."""
    found = client.cost_anomalies(team=team, service=service, days=days)
    if as_json:
        print_json(found)
        return
    table = new_table(title=f"Cost anomalies (sensitivity {found.get('sensitivity', '')})")
    for column in ("Day", "Scope", "Name", "Cost", "Usual", "Score", "Moved most"):
        table.add_column(column)
    for item in found.get("anomalies", []):
        drivers = item.get("drivers", [])
        moved = ", ".join(f"{d['dimension']}={d['value']} ({d.get('change', 0.0):+.2f})" for d in drivers[:2])
        table.add_row(
            item.get("day", ""),
            item.get("scope", ""),
            item.get("name", ""),
            _money(item.get("cost", {})),
            _money(item.get("expected", {})),
            f"{item.get('score', 0.0):.1f}",
            moved or "—",
        )
    console.print(table)


def _money(value: dict[str, object]) -> str:
    units = int(str(value.get("units", 0) or 0))
    nanos = int(str(value.get("nanos", 0) or 0))
    return f"{units + nanos / 1e9:,.2f} {value.get('currency_code', '')}".strip()
