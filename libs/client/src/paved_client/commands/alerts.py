"""``paved alerts``: alerts of your services, or one service's rules and alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from paved_client.commands.common import console, esc, gateway_options, new_table, print_json

if TYPE_CHECKING:
    from paved_client.http import GatewayClient


@click.command()
@click.option("--team")
@click.option("--service", help="One service: its rules and alerts.")
@click.option("--state", type=click.Choice(["inactive", "pending", "firing", "resolved"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def alerts(
    team: str | None, service: str | None, state: str | None, as_json: bool, *, client: GatewayClient
) -> None:
    """List alerts (and, for --service, its alert rules)."""
    if service is not None:
        data = client.service_alerts(service)
        if as_json:
            print_json(data)
            return
        rules = new_table(title=f"Alert rules: {service}")
        for column in ("Rule", "Expression", "For", "Severity"):
            rules.add_column(column)
        for rule in data["rules"]:
            condition = rule.get("expression") or _condition(rule.get("condition", {}))
            rules.add_row(
                rule.get("display_name", ""),
                condition,
                rule.get("for_duration", ""),
                str(rule.get("severity", "")).removeprefix("SEVERITY_").lower(),
            )
        console.print(rules)
        items = data["alerts"]
    else:
        page = client.list_alerts(team=team, state=state)
        if as_json:
            print_json(page)
            return
        items = page["items"]
    if not items:
        scope = f"service {service}" if service else (f"team {team}" if team else "your services")
        state_words = f" in state {state}" if state else ""
        console.print(f"No alerts for {esc(scope)}{esc(state_words)}: none firing or pending.")
        return
    table = new_table(title="Alerts")
    for column in ("Service", "Alert", "State", "Severity", "Value"):
        table.add_column(column)
    for alert in items:
        table.add_row(
            alert.get("service", ""),
            alert.get("display_name", ""),
            str(alert.get("state", "")).removeprefix("ALERT_STATE_").lower(),
            str(alert.get("severity", "")).removeprefix("SEVERITY_").lower(),
            f"{alert.get('value', 0):g}",
        )
    console.print(table)


def _condition(condition: dict[str, object]) -> str:
    operators = {
        "OPERATOR_GREATER_THAN": ">",
        "OPERATOR_GREATER_THAN_OR_EQUAL": ">=",
        "OPERATOR_LESS_THAN": "<",
        "OPERATOR_LESS_THAN_OR_EQUAL": "<=",
        "OPERATOR_EQUAL": "==",
        "OPERATOR_NOT_EQUAL": "!=",
    }
    operator = operators.get(str(condition.get("operator")), "?")
    return f"{condition.get('metric', '')} {operator} {condition.get('threshold', 0)}"
