"""Structured logging for every process: JSON off a terminal, console on one, request context on each line.

structlog and the standard library (grpc, SQLAlchemy, uvicorn, alembic) share one handler and one
processor chain, so a library's line carries the same ``request_id``/``rpc``/``service`` as ours. The chain
ends the same way for both: exceptions rendered without local variables and with a bounded number of
frames, every value passed through ``paved_kit.redaction``, long values cut, then rendered.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, ExcInfo, Processor, WrappedLogger

from paved_kit.redaction import redact

_HANDLER_MARK = "_paved_handler"
_STDLIB_LOGGERS = ("grpc", "sqlalchemy", "uvicorn", "uvicorn.access", "uvicorn.error", "alembic", "asyncio")
# One error must not write megabytes: frames kept per exception (first and last halves), exceptions kept
# per chain, characters kept per value (a traceback's text, an exception message echoing its input).
MAX_FRAMES = 20
MAX_CHAINED = 4
MAX_VALUE_CHARS = 4096


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
    """Mask credentials in every value (secret-looking keys at any depth, bearer values, JWTs,
    ``password=...`` and URL passwords in text, the message and the exception included)."""
    return {key: redact(value, key) for key, value in event_dict.items()}


def _exc_info(value: Any) -> ExcInfo | None:
    if value is None or value is False:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
        return (value[0], value[1], value[2])
    current = sys.exc_info()
    return current if current[0] is not None else None


def _bounded_exception(as_json: bool) -> Processor:
    """Render ``exc_info`` as ``exception`` (structured when ``as_json``, text otherwise), never with the
    frames' local variables (they hold request headers and bodies) and with at most ``MAX_FRAMES``."""
    to_dict = ExceptionDictTransformer(show_locals=False, max_frames=MAX_FRAMES)

    def bounded_exception(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        exc_info = _exc_info(event_dict.pop("exc_info", None))
        if exc_info is None:
            return event_dict
        if as_json:
            event_dict["exception"] = to_dict(exc_info)[:MAX_CHAINED]
        else:
            event_dict["exception"] = _traceback_text(exc_info)
        return event_dict

    return bounded_exception


def _traceback_text(exc_info: ExcInfo) -> str:
    exc_type, exc, tb = exc_info
    # A negative limit keeps the innermost frames, where the error happened (of each chained exception too).
    return "".join(traceback.format_exception(exc_type, exc, tb, limit=-MAX_FRAMES))


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        half = MAX_VALUE_CHARS // 2
        return f"{value[:half]} ...[{len(value) - 2 * half} characters cut]... {value[-half:]}"
    if isinstance(value, Mapping):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(item) for item in value]
    return value


def cut_long_values(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Cut every string longer than ``MAX_VALUE_CHARS`` in its middle, saying how much was cut."""
    return {key: _cut(value) for key, value in event_dict.items()}


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
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    if as_json:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    # The same ending for structlog's lines and the standard library's (ProcessorFormatter runs it on both).
    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        _bounded_exception(as_json),
        cut_long_values,  # first, so that redaction scans bounded text
        redact_secrets,
        renderer,
    ]

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
