"""``paved create``, ``status``, ``services``, ``deploy``, ``rollback``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import console, gateway_options, money, new_table, print_json
from paved_client.commands.operations import report, watch_operation
from paved_client.http import GatewayError

if TYPE_CHECKING:
    from paved_client.http import GatewayClient


def parse_params(values: tuple[str, ...]) -> dict[str, Any]:
    """``k=v`` pairs, values read as YAML scalars: ``replicas=3`` is a number, ``spot=true`` a bool."""
    import yaml

    parameters: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        parameters[key] = value if isinstance(value, str | int | float | bool) or value is None else raw
    return parameters


@click.command()
@click.option("--name", required=True, help="Service name (DNS-1123 label).")
@click.option("--team", required=True, help="Owner team.")
@click.option("--template", required=True, help="Golden-path template, e.g. web-service.")
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Template parameter (repeatable)."
)
@click.option("--env", "environment", help="Environment [default development].")
@click.option("--override-reason", help="Override soft-mandatory policy failures, with this reason.")
@click.option("--approved-by", help="Who approves the override [default: you].")
@click.option("--idempotency-key", help="Retry-safe key: the same key returns the same operation.")
@click.option("--wait/--no-wait", default=False, help="Follow provisioning until it finishes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def create(
    name: str,
    team: str,
    template: str,
    params: tuple[str, ...],
    environment: str | None,
    override_reason: str | None,
    approved_by: str | None,
    idempotency_key: str | None,
    wait: bool,
    as_json: bool,
    *,
    client: GatewayClient,
) -> None:
    """Create a service from a golden-path template."""
    override = None
    if override_reason:
        override = {"reason": override_reason, **({"approved_by": approved_by} if approved_by else {})}
    try:
        created = client.create_service(
            name=name,
            team=team,
            template=template,
            parameters=parse_params(params),
            environment=environment,
            override=override,
            idempotency_key=idempotency_key,
        )
    except GatewayError as exc:
        _add_template_hint(client, exc)
        raise
    if as_json:
        print_json(created)
    else:
        console.print(f"[green]✓[/green] Service [bold]{created['name']}[/bold] is being provisioned")
        console.print(f"  operation: {created['operation']}")
        estimate = created.get("estimated_monthly_cost")
        if estimate:
            console.print(f"  estimated monthly cost: {money(estimate['amount'], estimate['currency'])}")
        policy = created.get("policy") or {}
        for warning in policy.get("warnings", []):
            console.print(f"  [yellow]policy warning[/yellow] {warning['policy']}: {warning['message']}")
        console.print(f"  follow it: paved ops watch {created['operation'].removeprefix('operations/')}")
    if wait:
        report(watch_operation(client, created["operation"]))


def _add_template_hint(client: GatewayClient, exc: GatewayError) -> None:
    """A create refused for its template: name the templates there are."""
    fields = [str(v.get("field", "")) for v in exc.details.get("fieldViolations", [])]
    if "template" not in fields:
        return
    try:
        names = sorted(t["id"] for t in client.list_templates()["templates"])
    except GatewayError:
        return
    exc.hint = f"Templates: {', '.join(names)} (paved templates NAME shows one's parameters)"


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def status(name: str, as_json: bool, *, client: GatewayClient) -> None:
    """Show a service's state, health, metrics and cost."""
    service = client.get_service(name)
    if as_json:
        print_json(service)
        return
    table = new_table(title=f"Service: {name}")
    table.add_column("Metric", style="cyan")
    table.add_column("Value", style="green")
    table.add_row("Status", service["status"])
    table.add_row("Team", service.get("team") or "—")
    table.add_row("Template", service.get("template") or "—")
    table.add_row("Environment", service.get("environment") or "—")
    table.add_row("Health", service["health"])
    metrics = service.get("metrics")
    if metrics:
        rps, errors, p99 = metrics["requests_per_second"], metrics["error_rate"], metrics["latency_p99"]
        table.add_row("Requests/sec", "—" if rps is None else f"{rps:g}")
        table.add_row("Error rate", "—" if errors is None else f"{errors:.2%}")
        table.add_row("P99 latency", "—" if p99 is None else f"{p99:g}ms")
    cost = service.get("cost")
    if cost:
        currency = cost.get("currency", "USD")
        table.add_row("Cost this month", money(cost.get("current_month"), currency))
        table.add_row("Projected month", money(cost.get("projected_month"), currency))
        if cost.get("estimated_monthly_cost") is not None:
            table.add_row("Estimate (monthly)", money(cost.get("estimated_monthly_cost"), currency))
    for endpoint in service.get("endpoints", []):
        table.add_row("Endpoint", endpoint)
    if service.get("unavailable"):
        table.add_row("Unavailable", ", ".join(service["unavailable"]), style="yellow")
    console.print(table)
    environments = service.get("environments") or []
    if environments:
        per = new_table(title=f"Environments of {name}")
        for column in ("Environment", "Status", "Version", "Health", "Estimate (monthly)"):
            per.add_column(column)
        for environment in environments:
            estimate = environment.get("cost") or {}
            per.add_row(
                environment["name"],
                environment["status"],
                environment.get("version") or "—",
                environment.get("health") or "—",
                money(estimate.get("estimated_monthly_cost"), estimate.get("currency", "USD")),
            )
        console.print(per)


@click.command("services")
@click.option("--team")
@click.option("--state", type=click.Choice(["provisioning", "active", "failed", "deprovisioning", "deleted"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def list_services(team: str | None, state: str | None, as_json: bool, *, client: GatewayClient) -> None:
    """List the services you may see."""
    page = client.list_services(team=team, state=state, page_size=1000)
    if as_json:
        print_json(page)
        return
    table = new_table(title="Services")
    for column in ("Name", "Team", "Template", "Environment", "Status"):
        table.add_column(column)
    for service in page["services"]:
        table.add_row(
            service["name"], service["team"], service["template"], service["environment"], service["status"]
        )
    console.print(table)


def _workflow(
    client: GatewayClient,
    workflow: str,
    name: str,
    version: str | None,
    environment: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    accepted = client.run_workflow(name, workflow, version=version, environment=environment)
    if as_json:
        print_json(accepted)
    else:
        console.print(f"[green]✓[/green] {workflow} of [bold]{name}[/bold] started: {accepted['operation']}")
    if wait:
        report(watch_operation(client, accepted["operation"]))


@click.command()
@click.argument("name")
@click.option("--version", help="Version to deploy.")
@click.option("--env", "environment", help="Environment [default: the service's].")
@click.option("--wait/--no-wait", default=False, help="Follow the workflow until it finishes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def deploy(
    name: str,
    version: str | None,
    environment: str | None,
    wait: bool,
    as_json: bool,
    *,
    client: GatewayClient,
) -> None:
    """Run NAME's deploy workflow."""
    _workflow(client, "deploy", name, version, environment, wait, as_json)


@click.command()
@click.argument("name")
@click.option("--env", "environment", help="Environment [default: the service's].")
@click.option("--wait/--no-wait", default=False, help="Follow the workflow until it finishes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def rollback(name: str, environment: str | None, wait: bool, as_json: bool, *, client: GatewayClient) -> None:
    """Run NAME's rollback workflow."""
    _workflow(client, "rollback", name, None, environment, wait, as_json)
