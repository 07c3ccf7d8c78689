"""What the user sees while the CLI waits: a spinner with the elapsed time from the first instant of every
wait (on a terminal only; pipes and logs get nothing), and rich's pieces imported only when drawn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


class _LazyConsole:
    """A rich Console made on first use: importing rich costs more than many commands take."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


def lazy_console(*, stderr: bool = False) -> Console:
    """A Console that imports rich when first printed to."""
    return cast("Console", _LazyConsole(stderr=stderr))


def real_console(console: Console) -> Console:
    """The Console behind a lazy one (rich's Live needs the object itself, not a stand-in)."""
    return console.real() if isinstance(console, _LazyConsole) else console


class Elapsed:
    """``⠋ label 1.4s``, re-rendered (with the time so far) on every refresh of a rich Live."""

    def __init__(self, label: str, *, start: float | None = None) -> None:
        self.label = label
        self.start = time.monotonic() if start is None else start
        from rich.spinner import Spinner

        self._spinner = Spinner("dots", style="cyan")

    def seconds(self) -> float:
        return time.monotonic() - self.start

    def __rich__(self) -> RenderableType:
        from rich.markup import escape

        self._spinner.update(text=f"{escape(self.label)} [dim]{self.seconds():.1f}s[/dim]")
        return self._spinner


@contextmanager
def waiting(console: Console, label: str) -> Iterator[None]:
    """Show a spinner with the elapsed time on ``console`` while the block runs (terminals only)."""
    if not console.is_terminal:
        yield
        return
    from rich.live import Live

    with Live(Elapsed(label), console=real_console(console), refresh_per_second=10, transient=True):
        yield
