"""The ``paved`` command line: one click group; each command lives in its own module or function.

Start-up time matters (every command pays it): this module and the command modules import only click at
load time; rich, httpx, yaml and ``paved up``'s machinery (gRPC, the kit) load when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from paved_client import defaults as up_module
from paved_client.commands import register as register_gateway_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paved-client", prog_name="paved")
def main() -> None:
    """Paved: the internal developer platform, from the command line."""


register_gateway_commands(main)


def _names(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str]:
    if not value:
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(up_module.ALL_SERVICES))
    if unknown:
        raise click.BadParameter(
            f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(up_module.ALL_SERVICES)}"
        )
    return names


@main.command()
@click.option(
    "--base-port",
    type=click.IntRange(1, 65530),
    default=up_module.DEFAULT_BASE_PORT,
    show_default=True,
    help="Port of the first gRPC service; the others follow (catalog, provisioning, policy, cost, alerting).",
)
@click.option(
    "--gateway-port",
    type=click.IntRange(1, 65535),
    default=up_module.DEFAULT_GATEWAY_PORT,
    show_default=True,
    help="HTTP port of the gateway.",
)
@click.option("--only", callback=_names, help="Comma-separated services to start, e.g. catalog,policy.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=up_module.DEFAULT_DATA_DIR,
    show_default=True,
    help="Where everything goes: databases, logs, pid files and the GitOps repository.",
)
@click.option(
    "--database-url",
    envvar="PAVED_DATABASE_URL",
    metavar="URL",
    help="Run on this PostgreSQL server (postgresql://user:pass@host:5432/postgres): each service gets "
    "its own database paved_<service>, created if missing [env PAVED_DATABASE_URL; default: SQLite files "
    "in the data dir]. PAVED_<SERVICE>_DATABASE_URL still wins for that service.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=up_module.DEFAULT_STARTUP_TIMEOUT,
    show_default=True,
    help="Seconds each service gets to become healthy.",
)
def up(
    base_port: int,
    gateway_port: int,
    only: list[str],
    data_dir: Path,
    database_url: str | None,
    timeout: float,
) -> None:
    """Start the whole suite locally until Ctrl-C; crashed services are restarted."""
    import asyncio

    from rich.console import Console

    from paved_client import up as suite_runner

    suite = suite_runner.suite_specs(base_port=base_port, gateway_port=gateway_port)
    selected = suite_runner.select(suite, only)
    code = asyncio.run(
        suite_runner.run_up(
            selected,
            data_dir=data_dir,
            startup_timeout=timeout,
            console=Console(),
            wiring=suite,
            database_url=database_url or None,
        )
    )
    raise SystemExit(code)
