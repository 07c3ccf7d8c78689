"""The suite's names and default addresses; cheap to import, as the CLI's options need them first."""

from __future__ import annotations

from pathlib import Path

GRPC_SERVICES = ("catalog", "provisioning", "policy", "cost", "alerting")
GATEWAY = "gateway"
ALL_SERVICES = (*GRPC_SERVICES, GATEWAY)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 50051
DEFAULT_GATEWAY_PORT = 8080
DEFAULT_DATA_DIR = Path(".paved")
DEFAULT_STARTUP_TIMEOUT = 60.0
