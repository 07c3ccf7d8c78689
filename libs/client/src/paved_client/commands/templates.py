"""``paved templates [NAME]``: the golden paths on offer, and one template's parameters in detail;
``paved templates drift NAME``: the services behind its latest revision and what upgrading them changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from paved_client.commands.common import (
    EXIT_ERROR,
    console,
    errors,
    esc,
    gateway_options,
    new_table,
    print_json,
)

if TYPE_CHECKING:
    from paved_client.http import GatewayClient

# Parameters `paved create` fills from its own options: not something the user must pass with --param.
FILLED_BY_OPTIONS = {"service_name": "--name", "team": "--team"}


def kind(parameter: dict[str, Any]) -> str:
    """``TYPE_INT`` → ``int``."""
    return str(parameter.get("type", "")).removeprefix("TYPE_").lower() or "string"


def default_text(parameter: dict[str, Any]) -> str | None:
    """The default as the user would type it (an int parameter's ``8080.0`` from JSON is ``8080``)."""
    if "default_value" not in parameter or parameter["default_value"] is None:
        return None
    value = parameter["default_value"]
    if kind(parameter) == "int" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def allowed_text(parameter: dict[str, Any]) -> str:
    """Allowed values in words: enum values, an int range, or a pattern."""
    if parameter.get("values"):
        return " | ".join(parameter["values"])
    low, high = parameter.get("min"), parameter.get("max")
    if low is not None or high is not None:
        return f"{low if low is not None else '…'}..{high if high is not None else '…'}"
    if kind(parameter) == "bool":
        return "true | false"
    if parameter.get("pattern"):
        return f"matches {parameter['pattern']}"
    return ""


def needed(parameter: dict[str, Any]) -> str:
    """``required``, ``optional``, or which `create` option fills it."""
    if parameter["name"] in FILLED_BY_OPTIONS:
        return f"from {FILLED_BY_OPTIONS[parameter['name']]}"
    if parameter.get("required") and default_text(parameter) is None:
        return "required"
    return "optional"


def summary(parameter: dict[str, Any]) -> str:
    """One parameter in a line: ``language*=python|go`` style."""
    text = parameter["name"]
    if needed(parameter) == "required":
        text += "*"
    default = default_text(parameter)
    if parameter.get("values"):
        text += f" ({'|'.join(parameter['values'])})"
    if default is not None:
        text += f" = {default}"
    return text


def template_names(page: dict[str, Any]) -> list[str]:
    return sorted(template["id"] for template in page["templates"])


class TemplatesGroup(click.Group):
    """``paved templates [NAME]`` lists or shows (its hidden ``show`` command); a first word naming a
    subcommand (``drift``) runs that instead."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=TemplatesGroup)
def templates() -> None:
    """List golden-path templates, show NAME's parameters, or see which services drift from NAME
    (paved templates drift NAME)."""


@templates.command("show", hidden=True)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def show(name: str | None, as_json: bool, *, client: GatewayClient) -> None:
    """List golden-path templates, or show NAME's parameters: type, default, allowed values."""
    page = client.list_templates()
    if name is not None:
        wanted = name.removeprefix("templates/")
        found = [template for template in page["templates"] if template["id"] == wanted]
        if not found:
            errors.print(
                f"[bold red]Error:[/bold red] no template {esc(wanted)}; "
                f"choose one of: {esc(', '.join(template_names(page)))}"
            )
            raise SystemExit(EXIT_ERROR)
        if as_json:
            print_json(found[0])
            return
        _detail(found[0])
        return
    if as_json:
        print_json(page)
        return
    table = new_table(title="Templates")
    table.add_column("Template", style="cyan")
    table.add_column("Description")
    table.add_column("Parameters")
    for template in page["templates"]:
        parameters = ", ".join(
            summary(p) for p in template["parameters"] if p["name"] not in FILLED_BY_OPTIONS
        )
        table.add_row(esc(template["id"]), esc(template["description"]), esc(parameters))
    console.print(table)
    console.print(
        "[dim]* required (--param NAME=VALUE); the service's name and team come from --name and --team. "
        "Details: paved templates NAME[/dim]"
    )


def _detail(template: dict[str, Any]) -> None:
    table = new_table(title=f"Template {esc(template['id'])}: {esc(template['description'])}")
    for column in ("Parameter", "Type", "Needed", "Default", "Allowed", "Description"):
        table.add_column(column)
    for parameter in template["parameters"]:
        table.add_row(
            esc(parameter["name"]),
            kind(parameter),
            needed(parameter),
            esc(default_text(parameter) or ""),
            esc(allowed_text(parameter)),
            esc(parameter.get("description", "")),
        )
    console.print(table)
    workflows = ", ".join(w.get("name", "") for w in template.get("workflows", []))
    if workflows:
        console.print(f"Workflows: {esc(workflows)}")
    console.print(
        f"Create one: paved create --name NAME --team TEAM --template {esc(template['id'])} --param KEY=VALUE"
    )


@templates.command("drift")
@click.argument("name")
@click.option(
    "--revision", type=click.IntRange(min=1), help="Compare with this revision [default: the latest]."
)
@click.option("--fields/--no-fields", default=True, help="List each changed field [default: on].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@gateway_options
def drift(name: str, revision: int | None, fields: bool, as_json: bool, *, client: GatewayClient) -> None:
    """The services of template NAME behind its latest revision (or --revision): the revision each is on,
    the objects and fields an upgrade changes, and which were edited by hand (an upgrade skips those)."""
    report = client.template_drift(name.removeprefix("templates/"), revision=revision)
    if as_json:
        print_json(report)
        return
    console.print(
        f"Template {esc(report['template'])}: revision {report['revision']} "
        f"(latest {report['latest_revision']}); {report['behind_count']} service environment(s) not on it, "
        f"{report['current_count']} on it, {report['hand_edited_count']} edited by hand, "
        f"{report['pinned_count']} pinned",
        soft_wrap=True,
    )
    if not report["services"]:
        return
    table = new_table(title=f"Drift from revision {report['revision']}")
    for column in (
        "Service",
        "Environment",
        "Team",
        "On",
        "Added",
        "Changed",
        "Removed",
        "Hand-edited",
        "Pinned",
    ):
        table.add_column(column)
    for entry in report["services"]:
        counts = entry["counts"]
        table.add_row(
            esc(entry["service"]),
            esc(entry["environment"]),
            esc(entry["team"]),
            str(entry["revision"]),
            str(counts["added"]),
            str(counts["changed"]),
            str(counts["removed"]),
            "yes" if entry["hand_edited"] else "",
            str(entry["pin"]["revision"]) if entry.get("pin") else "",
        )
    console.print(table)
    if fields:
        for entry in report["services"]:
            _print_changes(entry)


def _print_changes(entry: dict[str, Any]) -> None:
    where = f"{entry['service']} ({entry['environment']}), revision {entry['revision']}"
    if entry.get("problem"):
        console.print(f"[yellow]{esc(where)}: {esc(entry['problem'])}[/yellow]", soft_wrap=True)
    for change in entry["changes"]:
        console.print(f"{esc(where)}: {change['change']} {esc(change['key'])}", soft_wrap=True)
        for item in change["fields"]:
            before = "" if item["before"] is None else f" {esc(_short(item['before']))}"
            after = "" if item["after"] is None else f" → {esc(_short(item['after']))}"
            console.print(f"    {item['change']:<8} {esc(item['path'])}{before}{after}", soft_wrap=True)
    pin = entry.get("pin")
    if pin:
        console.print(
            f"[yellow]{esc(where)}: pinned at revision {pin['revision']} until {esc(pin['expires_at'])} "
            f"by {esc(pin['pinned_by'])}: {esc(pin['reason'])}[/yellow]",
            soft_wrap=True,
        )
    edits = entry.get("hand_edits")
    if edits:
        console.print(
            f"[yellow]{esc(where)}: edited by hand in {esc(edits['last_commit'][:12])} since Paved's "
            f"{esc(edits['paved_commit'][:12])}: {esc(', '.join(edits['files']))}[/yellow]",
            soft_wrap=True,
        )


def _short(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
