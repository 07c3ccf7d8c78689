"""What every gateway command shares: connection options, readable errors, non-zero exits."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from paved_client.config import ConfigError, load_config
from paved_client.http import GatewayClient, GatewayError

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
errors = Console(stderr=True)

EXIT_ERROR = 1
EXIT_CONFIG = 2


def gateway_options(command: F) -> F:
    """Add ``--url``, ``--token`` and ``--timeout`` and pass a ready ``client`` to the command."""

    @click.option("--url", metavar="URL", help="Gateway URL [env PAVED_URL; default http://127.0.0.1:8080].")
    @click.option("--token", metavar="TOKEN", help="Bearer token [env PAVED_TOKEN].")
    @click.option("--timeout", type=float, metavar="SECONDS", help="Request timeout [default 30].")
    @functools.wraps(command)
    def wrapper(*args: Any, url: str | None, token: str | None, timeout: float | None, **kwargs: Any) -> Any:
        try:
            config = load_config(url, token, timeout)
        except ConfigError as exc:
            errors.print(f"[red]configuration error:[/red] {exc}")
            raise SystemExit(EXIT_CONFIG) from None
        with GatewayClient(config) as client:
            try:
                return command(*args, client=client, **kwargs)
            except GatewayError as exc:
                print_error(exc)
                raise SystemExit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def print_error(exc: GatewayError) -> None:
    """A gateway error as a person wants to read it: what, why, and each field or violation."""
    errors.print(f"[bold red]Error:[/bold red] {exc.message} [dim]({exc.name}, HTTP {exc.status})[/dim]")
    for violation in exc.details.get("fieldViolations", []):
        errors.print(f"  • [yellow]{violation.get('field')}[/yellow]: {violation.get('description')}")
    for violation in exc.details.get("violations", []):
        level = violation.get("enforcement_level", "")
        errors.print(
            f"  • [yellow]{violation.get('policy')}[/yellow] on {violation.get('resource')} ({level}): "
            f"{violation.get('message')}"
        )
    for check in exc.details.get("checks", []):
        if not check.get("allowed", True):
            errors.print(
                f"  • quota [yellow]{check['quota']}[/yellow]: {check['current']:g} in use + "
                f"{check['requested']:g} requested > limit {check['limit']:g}"
            )
    if exc.details.get("overridePossible"):
        errors.print("  An override is possible: add --override-reason (and --approved-by).")
    if exc.details.get("requestId"):
        errors.print(f"  [dim]request id {exc.details['requestId']}[/dim]")


def print_json(data: Any) -> None:
    """Machine-readable output."""
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def money(amount: float | None, currency: str = "USD") -> str:
    """``1234.5`` → ``$1,234.50``."""
    if amount is None:
        return "—"
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{amount:,.2f}"
