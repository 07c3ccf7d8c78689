"""``python -m paved_gateway``: serve the HTTP API with uvicorn (``openapi`` prints the document)."""

from __future__ import annotations

import argparse
import json
import sys

import uvicorn
from paved_kit.logging import configure_logging
from pydantic import ValidationError

from paved_gateway.app import create_app
from paved_gateway.settings import GatewaySettings


def _settings() -> GatewaySettings:
    try:
        return GatewaySettings.model_validate({})
    except (ValidationError, ValueError) as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> None:
    """Serve (default), print the effective config, or print the OpenAPI document."""
    parser = argparse.ArgumentParser(prog="python -m paved_gateway", description="The Paved HTTP gateway.")
    parser.add_argument("command", nargs="?", choices=["serve", "config", "openapi"], default="serve")
    args = parser.parse_args(argv)
    settings = _settings()
    if args.command == "config":
        print(json.dumps(settings.safe_dump(), indent=2, sort_keys=True))
        return
    try:
        app = create_app(settings)
    except ValueError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.command == "openapi":
        print(json.dumps(app.openapi(), indent=2, sort_keys=True))
        return
    configure_logging("gateway", settings.log_level, settings.log_format)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # structlog owns logging; uvicorn's loggers route through it
        access_log=False,  # the middleware writes one canonical line per request
        timeout_graceful_shutdown=int(settings.grace_period_seconds),
    )


if __name__ == "__main__":
    main()
