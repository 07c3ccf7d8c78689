"""``paved costs``: cost per team, and recommendations."""

from __future__ import annotations

import click
from rich.table import Table

from paved_client.commands.common import console, gateway_options, money, print_json
from paved_client.http import GatewayClient


@click.command()
@click.option("--team", help="Only this team.")
@click.option("--month", help="YYYY-MM [default: this month].")
@click.option("--recommendations", is_flag=True, help="Also list cost recommendations.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def costs(
    team: str | None, month: str | None, recommendations: bool, as_json: bool, *, client: GatewayClient
) -> None:
    """Show cost by team: this month so far, projected, and the trend."""
    report = client.team_costs(team=team, month=month)
    advice = client.recommendations(team=team) if recommendations else None
    if as_json:
        print_json({"costs": report, **({"recommendations": advice} if advice is not None else {})})
        return
    table = Table(title=f"Costs {report['month']}")
    table.add_column("Team", style="cyan")
    table.add_column("Current", justify="right")
    table.add_column("Projected", justify="right")
    table.add_column("Previous", justify="right")
    table.add_column("Trend")
    table.add_column("Services", justify="right")
    for row in report["teams"]:
        arrow = {"up": "↑", "down": "↓", "flat": "→"}.get(row["trend"], "")
        table.add_row(
            row["team"],
            money(row["current_month"], row["currency"]),
            money(row["projected_month"], row["currency"]),
            money(row["previous_month"], row["currency"]),
            f"{arrow} {row['trend_percent']:+.1f}%",
            str(row["services"]),
        )
    if report.get("total") is not None:
        table.add_row("[bold]total[/bold]", money(report["total"], report["currency"]), "", "", "", "")
    console.print(table)
    if not report["teams"]:
        console.print(
            f"No cost recorded for {team or 'your teams'} in {report['month']} yet: actual costs arrive with "
            "billing data (FOCUS imports); `paved status NAME` shows a service's estimate."
        )
    if advice is not None:
        rec = Table(title="Recommendations")
        for column in ("Service", "Resource", "Kind", "Description", "Savings/month"):
            rec.add_column(column)
        for item in advice["items"]:
            savings = item.get("monthly_savings", {})
            amount = int(savings.get("units", 0) or 0) + (savings.get("nanos", 0) or 0) / 1e9
            rec.add_row(
                item.get("service", ""),
                item.get("resource", ""),
                str(item.get("kind", "")).lower(),
                item.get("description", ""),
                money(amount, savings.get("currency_code", "USD")),
            )
        console.print(rec)
