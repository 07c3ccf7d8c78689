"""``paved metrics``: the platform's delivery, cost and adoption measures, and its ROI with every term."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import console, gateway_options, money, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient

MEASURES = (
    ("deployments_per_day", "Deployments per day"),
    ("lead_time", "Lead time"),
    ("change_failure_rate", "Change failure rate"),
    ("mttr", "Mean time to recovery"),
    ("time_to_first_deploy", "Time to first deploy"),
    ("services_created_per_week", "Services created per week"),
    ("platform_uptime", "Platform uptime"),
    ("infrastructure_cost_per_service", "Infrastructure cost per service"),
    ("cost_optimization_savings", "Cost optimization savings"),
    ("resource_utilization", "Resource utilization"),
    ("self_service_adoption", "Self-service adoption"),
    ("developer_nps", "Developer NPS"),
    ("support_ticket_volume", "Support tickets"),
)
RATIOS = {"change_failure_rate", "resource_utilization", "self_service_adoption", "platform_uptime"}


def _value(key: str, metric: dict[str, Any]) -> str:
    value = metric.get("value")
    if value is None:
        return "[dim]n/a[/dim]"
    unit = str(metric.get("unit", ""))
    if key in RATIOS:
        return f"{value * 100:.1f}%"
    if unit.endswith("/month") and not unit.startswith("tickets"):
        return money(value, unit.split("/")[0]) + "/month"
    return f"{value:,.2f} {unit}"


@click.command()
@click.option("--team", help="One team's measures [default: the platform, for admins].")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="Window length.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def metrics(team: str | None, days: int, as_json: bool, *, client: GatewayClient) -> None:
    """Show delivery metrics (DORA bands), cost and adoption measures, and the platform's ROI."""
    report = client.platform_metrics(team=team, days=days)
    if as_json:
        print_json(report)
        return
    window = report["window"]
    scope = report.get("team") or "platform"
    table = new_table(title=f"Paved metrics — {scope}, last {window['days']:g} days")
    table.add_column("Measure", style="cyan")
    table.add_column("Value", justify="right")
    table.add_column("DORA band")
    table.add_column("Basis", style="dim", overflow="fold")
    for key, title in MEASURES:
        metric = report[key]
        basis = metric.get("basis", "")
        if metric.get("as_of"):
            basis = f"set {metric['as_of']}; {basis}"
        table.add_row(title, _value(key, metric), metric.get("band") or "", basis)
    table.add_row(
        "Deployments / failed / services created",
        f"{report['deployments']} / {report['failed_deployments']} / {report['services_created']}",
        "",
        "in the window",
    )
    console.print(table)
    roi = report.get("roi")
    if not roi:
        console.print("[dim]ROI is platform-wide: ask without --team as an admin.[/dim]")
        return
    currency = roi["currency"]
    terms = new_table(title=f"ROI {roi['roi_percent']:+.1f}%")
    terms.add_column("Term", style="cyan")
    terms.add_column("Formula")
    terms.add_column("Value", justify="right")
    for term in roi["benefits"]:
        terms.add_row(f"+ {term['name']}", term["formula"], money(term["value"], currency))
    for term in roi["costs"]:
        terms.add_row(f"- {term['name']}", term["formula"], money(term["value"], currency))
    terms.add_row("[bold]benefit[/bold]", "", money(roi["total_benefit"], currency))
    terms.add_row("[bold]cost[/bold]", "", money(roi["total_cost"], currency))
    console.print(terms)
