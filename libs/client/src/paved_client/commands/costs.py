"""``paved costs``: cost per team, and recommendations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import console, esc, gateway_options, money, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient


def _has_cost(row: dict[str, Any]) -> bool:
    return any(row.get(key) for key in ("current_month", "projected_month", "previous_month"))


def trend_text(row: dict[str, Any]) -> str:
    """``↑ +12.5%``; ``new`` when there was nothing the month before (a percentage of zero means nothing)."""
    if not row.get("previous_month"):
        return "new" if row.get("current_month") or row.get("projected_month") else "—"
    arrow = {"up": "↑", "down": "↓", "flat": "→"}.get(row.get("trend") or "", "")
    return f"{arrow} {row['trend_percent']:+.1f}%"


def recommendation_kind(kind: object) -> str:
    """``RECOMMENDATION_KIND_SPOT`` → ``spot``, ``..._RESERVED_CAPACITY`` → ``reserved capacity``."""
    return str(kind).upper().removeprefix("RECOMMENDATION_KIND_").lower().replace("_", " ")


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
    table = new_table(title=f"Costs {report['month']}")
    table.add_column("Team", style="cyan")
    table.add_column("Current", justify="right")
    table.add_column("Projected", justify="right")
    table.add_column("Previous", justify="right")
    table.add_column("Trend")
    table.add_column("Services", justify="right")
    rows = [row for row in report["teams"] if _has_cost(row)]
    idle = len(report["teams"]) - len(rows)
    for row in rows:
        table.add_row(
            esc(row["team"]),
            money(row["current_month"], row["currency"]),
            money(row["projected_month"], row["currency"]),
            money(row["previous_month"], row["currency"]),
            trend_text(row),
            str(row["services"]),
        )
    if report.get("total") is not None:
        table.add_row("[bold]total[/bold]", money(report["total"], report["currency"]), "", "", "", "")
    console.print(table)
    if idle:
        console.print(
            f"[dim]{idle} team(s) with no cost in {esc(report['month'])} not shown (--json lists them).[/dim]"
        )
    if not rows:
        console.print(
            f"No cost recorded for {team or 'your teams'} in {report['month']} yet: actual costs arrive with "
            "billing data (FOCUS imports); `paved status NAME` shows a service's estimate."
        )
    if advice is not None:
        rec = new_table(title="Recommendations")
        for column in ("Service", "Resource", "Kind", "Description", "Savings/month"):
            rec.add_column(column)
        for item in advice["items"]:
            savings = item.get("monthly_savings", {})
            amount = int(savings.get("units", 0) or 0) + (savings.get("nanos", 0) or 0) / 1e9
            rec.add_row(
                esc(item.get("service", "")),
                esc(item.get("resource", "")),
                recommendation_kind(item.get("kind", "")),
                esc(item.get("description", "")),
                money(amount, savings.get("currency_code", "USD")),
            )
        console.print(rec)
