"""Shared plumbing for Paved services; knows no domain."""

import importlib
import sys


def _import_structlog_without_rich() -> None:
    """Import structlog while ``rich`` is hidden from it (unless either is loaded already).

    structlog imports rich, and through it pygments, whenever it is installed, to pretty-print tracebacks
    and frames' local variables. Paved renders neither (plain tracebacks, never locals), and that import
    was about 200 ms of CPU in the start-up of every service. rich stays importable afterwards for
    whoever uses it (the CLI's tables); structlog then simply keeps its plain renderers.
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # ``import rich`` raises ImportError meanwhile
    try:
        importlib.import_module("structlog")
    finally:
        del sys.modules["rich"]


_import_structlog_without_rich()
