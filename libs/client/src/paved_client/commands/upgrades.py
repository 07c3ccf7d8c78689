"""``paved templates upgrade NAME``: move a template's services to a revision in waves (or show the plan with
--dry-run); ``paved upgrades watch ID``: follow one wave by wave, then print its report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import EXIT_ERROR, console, esc, gateway_options, new_table, print_json
from paved_client.commands.operations import watch_operation

if TYPE_CHECKING:
    from paved_client.http import GatewayClient


def _waves(value: str | None) -> list[int | str] | None:
    if not value:
        return None
    return [int(item) if item.strip().isdigit() else item.strip() for item in value.split(",")]


def print_plan(plan: dict[str, Any]) -> None:
    console.print(
        f"Upgrade of {esc(plan['template'])} to revision {plan['to_revision']}: {plan['target_count']} "
        f"service environment(s) in {len(plan['waves'])} wave(s), {len(plan['skipped'])} skipped, monthly "
        f"cost {plan['monthly_cost_delta']:+.2f} {esc(plan['currency'])}"
        + (" (dry run: nothing changed)" if plan["dry_run"] else ""),
        soft_wrap=True,
    )
    table = new_table(title="Plan")
    for column in ("Wave", "Service", "Environment", "From", "Changed objects", "Cost delta", "Policy"):
        table.add_column(column)
    for number, wave in enumerate(plan["waves"], start=1):
        for target in wave:
            counts = target["counts"]
            table.add_row(
                str(number),
                esc(target["service"]),
                esc(target["environment"]),
                str(target["from_revision"]),
                f"+{counts['added']} ~{counts['changed']} -{counts['removed']}",
                f"{target['monthly_cost_delta']:+.2f}",
                esc(target["policy"]),
            )
    console.print(table)
    for skip in plan["skipped"]:
        console.print(
            f"[yellow]skipped {esc(skip['service'])} ({esc(skip['environment'])}): {esc(skip['reason'])}: "
            f"{esc(skip['detail'])}[/yellow]",
            soft_wrap=True,
        )


def print_report(report: dict[str, Any]) -> None:
    table = new_table(title=f"{esc(report['kind'])} {esc(report['id'])}: {esc(report['state'])}")
    for column in ("Wave", "State", "Targets", "Upgraded", "Failed", "Detail"):
        table.add_column(column)
    for wave in report["waves"]:
        table.add_row(
            str(wave["wave"]),
            esc(wave["state"]),
            str(wave["targets"]),
            str(wave["upgraded"]),
            str(wave["failed"]),
            esc(wave["detail"]),
        )
    console.print(table)
    done = report["upgraded"] or report["restored"]
    verb = "restored" if report["restored"] else "upgraded"
    console.print(f"{len(done)} {verb}, {len(report['skipped'])} skipped, {len(report['failed'])} failed")
    for entry in report["failed"]:
        console.print(
            f"[red]failed {esc(entry['service'])} ({esc(entry['environment'])}) in wave {entry['wave']}: "
            f"{esc(entry['reason'])}[/red]",
            soft_wrap=True,
        )
    for entry in report["skipped"]:
        console.print(
            f"[yellow]skipped {esc(entry['service'])} ({esc(entry['environment'])}): "
            f"{esc(entry['reason'])}[/yellow]",
            soft_wrap=True,
        )
    if report["error"]:
        console.print(f"[red]✗ {esc(report['error'])}[/red]", soft_wrap=True)


def watch_upgrade(client: GatewayClient, operation: str) -> dict[str, Any]:
    """Follow the upgrade's operation to its end, then fetch and print its report."""
    finished = watch_operation(client, operation)
    if finished is None:
        console.print("[yellow]the event stream ended before the upgrade finished[/yellow]")
        raise SystemExit(EXIT_ERROR)
    template = str(finished["service"]).removeprefix("templates/")
    report = client.get_upgrade(template, str(finished["id"]))
    print_report(report)
    return report


@click.command("upgrade")
@click.argument("name")
@click.option("--to-revision", type=click.IntRange(min=1), help="Target revision [default: the latest].")
@click.option(
    "--waves", metavar="SIZES", help="Comma-separated wave sizes: counts, shares, rest [1,10%,rest]."
)
@click.option("--team", "teams", multiple=True, help="Only this team's services (repeatable).")
@click.option("--environment", "environments", multiple=True, help="Only this environment (repeatable).")
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--failure-budget", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--bake-seconds", type=click.IntRange(0, 3600), default=0, show_default=True)
@click.option("--allow-downgrade", is_flag=True, help="Allow moving services to an older revision.")
@click.option(
    "--dry-run", is_flag=True, help="Show the plan (diffs, cost delta, policy, skips); change nothing."
)
@click.option("--wait", is_flag=True, help="Follow the upgrade until it ends and print its report.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def upgrade(
    name: str,
    to_revision: int | None,
    waves: str | None,
    teams: tuple[str, ...],
    environments: tuple[str, ...],
    services: tuple[str, ...],
    failure_budget: int,
    bake_seconds: int,
    allow_downgrade: bool,
    dry_run: bool,
    wait: bool,
    as_json: bool,
    *,
    client: GatewayClient,
) -> None:
    """Upgrade the services of template NAME to its latest revision (or --to-revision) in waves; hand-edited,
    pinned and policy-refused services are skipped with the reason."""
    selector = {
        k: list(v) for k, v in (("teams", teams), ("environments", environments), ("services", services)) if v
    }
    body: dict[str, Any] = {
        "to_revision": to_revision,
        "waves": _waves(waves),
        "selector": selector or None,
        "dry_run": dry_run,
        "failure_budget": failure_budget,
        "bake_seconds": bake_seconds,
        "allow_downgrade": allow_downgrade,
    }
    plan = client.start_upgrade(
        name.removeprefix("templates/"), {k: v for k, v in body.items() if v is not None}
    )
    if as_json and not wait:
        print_json(plan)
        return
    print_plan(plan)
    if dry_run:
        return
    console.print(f"Started {esc(plan['operation'])}: paved upgrades watch {esc(plan['id'])}")
    if wait:
        report = watch_upgrade(client, str(plan["id"]))
        if report["state"] != "succeeded":
            raise SystemExit(EXIT_ERROR)


@click.group()
def upgrades() -> None:
    """Fleet upgrades of golden-path templates."""


@upgrades.command("watch")
@click.argument("operation")
@gateway_options
def watch(operation: str, *, client: GatewayClient) -> None:
    """Follow upgrade OPERATION wave by wave until it ends, then print what was upgraded, skipped, failed."""
    report = watch_upgrade(client, operation.removeprefix("operations/"))
    if report["state"] != "succeeded":
        raise SystemExit(EXIT_ERROR)
