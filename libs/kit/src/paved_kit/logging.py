"""Structured logging for every process: JSON off a terminal, console on one, request context on each line.

structlog and the standard library (grpc, SQLAlchemy, uvicorn, alembic) share one handler and one
processor chain, so a library's line carries the same ``request_id``/``rpc``/``service`` as ours.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

_HANDLER_MARK = "_paved_handler"
_STDLIB_LOGGERS = ("grpc", "sqlalchemy", "uvicorn", "uvicorn.access", "uvicorn.error", "alembic", "asyncio")
_SECRET_KEYS = frozenset({"authorization", "auth_token", "token", "password", "secret", "api_key", "bearer"})
_SECRET_SUFFIXES = ("_password", "_secret", "_api_key", "_auth_token")
_REDACTED = "[redacted]"


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stdout`` is at emit time (so test capture and redirection work)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _add_service(service: str) -> Processor:
    def add_service(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Mask values logged under secret-looking keys, a last line of defence against leaking tokens."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _redacted(key, value)
    return event_dict


def _redacted(key: str, value: Any) -> Any:
    lowered = key.lower()
    if value is not None and (lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)):
        return _REDACTED
    if isinstance(value, Mapping):
        # A copy: the caller's dict must not change because it was logged.
        return {k: _redacted(str(k), v) for k, v in value.items()}
    return value


def _use_json(fmt: str) -> bool:
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return not (isatty is not None and isatty())


def configure_logging(
    service: str, level: str = "INFO", fmt: Literal["auto", "json", "console"] | str = "auto"
) -> None:
    """Configure structlog and the standard library for this process; calling it again replaces the setup.

    ``fmt="auto"`` renders JSON unless stdout is a terminal.
    """
    as_json = _use_json(fmt)
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_service(service),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        redact_secrets,
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        final.append(structlog.processors.dict_tracebacks)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    final.append(renderer)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so a second configure_logging (tests, a re-exec) reaches loggers made earlier.
        cache_logger_on_first_use=False,
    )

    handler = _StdoutHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _STDLIB_LOGGERS:
        # Route library loggers through the root handler only (no duplicate lines of their own).
        library_logger = logging.getLogger(name)
        for existing in list(library_logger.handlers):
            library_logger.removeHandler(existing)
        library_logger.propagate = True
    # SQLAlchemy echoes every statement at INFO; that is debugging, not operations.
    logging.getLogger("sqlalchemy.engine").setLevel(max(numeric_level, logging.WARNING))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; ``name`` (usually ``__name__``) is rendered as ``logger``."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
