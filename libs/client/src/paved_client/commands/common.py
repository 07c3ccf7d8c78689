"""What every gateway command shares: connection options, readable errors, non-zero exits.

Nothing heavy is imported here at module level (rich, httpx, yaml): ``paved --help`` and the start of every
command must stay fast, so each is imported where it is first needed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from paved_client.commands.feedback import lazy_console, waiting
from paved_client.config import ConfigError, load_config

if TYPE_CHECKING:
    from rich.table import Table

    from paved_client.http import GatewayError

F = TypeVar("F", bound=Callable[..., Any])

console = lazy_console()
errors = lazy_console(stderr=True)

EXIT_ERROR = 1
EXIT_CONFIG = 2


def new_table(*args: Any, **kwargs: Any) -> Table:
    """A rich Table (rich imported on first use)."""
    from rich.table import Table

    return Table(*args, **kwargs)


def esc(value: object) -> str:
    """``value`` as text that rich prints literally (``[a-z]`` in a rule stays ``[a-z]``)."""
    from rich.markup import escape

    return escape(str(value))


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
            errors.print(f"[red]configuration error:[/red] {esc(exc)}")
            raise SystemExit(EXIT_CONFIG) from None
        from paved_client.http import GatewayClient, GatewayError

        with GatewayClient(config, waiting=lambda label: waiting(errors, label)) as client:
            try:
                return command(*args, client=client, **kwargs)
            except GatewayError as exc:
                print_error(exc)
                raise SystemExit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def number(value: Any) -> str:
    """A quantity as a person writes it: ``10000000`` not ``1e+07``, ``132.021`` not ``132.02100000001``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def print_error(exc: GatewayError) -> None:
    """A gateway error as a person wants to read it: what, why, and each field or violation.

    Every text that came from the server is escaped: a rule such as ``[a-z]`` must print as it is.
    """
    status = f"HTTP {exc.status}" if exc.status else "no answer"
    errors.print(f"[bold red]Error:[/bold red] {esc(exc.message)} [dim]({esc(exc.name)}, {status})[/dim]")
    for violation in exc.details.get("fieldViolations", []):
        errors.print(
            f"  • [yellow]{esc(violation.get('field'))}[/yellow]: {esc(violation.get('description'))}"
        )
    for violation in exc.details.get("violations", []):
        level = violation.get("enforcement_level", "")
        errors.print(
            f"  • [yellow]{esc(violation.get('policy'))}[/yellow] on {esc(violation.get('resource'))} "
            f"({esc(level)}): {esc(violation.get('message'))}"
        )
    for check in exc.details.get("checks", []):
        if not check.get("allowed", True):
            errors.print(
                f"  • quota [yellow]{esc(check['quota'])}[/yellow]: {number(check['current'])} in use + "
                f"{number(check['requested'])} requested > limit {number(check['limit'])}"
            )
    if exc.details.get("overridePossible"):
        errors.print("  An override is possible: add --override-reason (and --approved-by).")
    if exc.hint:
        errors.print(f"  {esc(exc.hint)}")
    if exc.details.get("requestId"):
        errors.print(f"  [dim]request id {esc(exc.details['requestId'])}[/dim]")


def print_json(data: Any) -> None:
    """Machine-readable output."""
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def money(amount: float | None, currency: str = "USD") -> str:
    """``1234.5`` → ``$1,234.50``."""
    if amount is None:
        return "—"
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{amount:,.2f}"
