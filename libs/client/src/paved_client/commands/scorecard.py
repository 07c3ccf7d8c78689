"""``paved scorecard NAME``: a service's maturity level and checks (or a team's roll-up with ``--team``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import console, gateway_options, new_table, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from paved_client.http import GatewayClient


def _checks_table(card: dict[str, Any]) -> Table:
    table = new_table(
        title=f"{card['service']} ({card['team']}): level {card['level']} — {card['level_name']}, "
        f"score {card['score'] * 100:.0f}%"
    )
    table.add_column("Check", style="cyan")
    table.add_column("", justify="center")
    table.add_column("Evidence", overflow="fold")
    table.add_column("How to fix", overflow="fold")
    for check in card["checks"]:
        mark = "[green]✓[/green]" if check["passed"] else "[red]✗[/red]"
        table.add_row(check["title"], mark, check["evidence"], check.get("remediation") or "")
    return table


@click.command()
@click.argument("name", required=False)
@click.option("--team", help="A team's roll-up instead of one service.")
@click.option("--platform", is_flag=True, help="The whole platform's roll-up.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def scorecard(
    name: str | None, team: str | None, platform: bool, as_json: bool, *, client: GatewayClient
) -> None:
    """Show the maturity scorecard of service NAME, of a team with --team, or of the platform."""
    if [bool(name), bool(team), platform].count(True) != 1:
        raise click.UsageError("give one of: a service NAME, --team TEAM, --platform")
    if name:
        report = client.service_scorecard(name)
    elif team:
        report = client.team_scorecard(team)
    else:
        report = client.platform_scorecard()
    if as_json:
        print_json(report)
        return
    if name:
        console.print(_checks_table(report))
        return
    who = f"Team {report['team']}" if report.get("team") else "Platform"
    levels = new_table(title=f"{who}: level {report['level']} — {report['level_name']}")
    levels.add_column("Level", justify="right")
    levels.add_column("Name", style="cyan")
    levels.add_column("Evidence")
    for level in report["levels"]:
        levels.add_row(str(level["level"]), level["name"], level["evidence"])
    console.print(levels)
    services = new_table(title="Services")
    for column in ("Service", "Level", "Score", "Failing checks"):
        services.add_column(column)
    for card in report["services"]:
        services.add_row(
            card["service"],
            str(card["level"]),
            f"{card['score'] * 100:.0f}%",
            ", ".join(c["id"] for c in card["failing"]) or "[green]none[/green]",
        )
    console.print(services)
