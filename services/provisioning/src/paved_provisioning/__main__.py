"""``python -m paved_provisioning [serve|config|worker]``: the gRPC server (with a worker) or a worker."""

from __future__ import annotations

import asyncio
import sys

from paved_kit.logging import configure_logging
from paved_kit.service import load_settings, run_service

from paved_provisioning.app import build, run_worker_process
from paved_provisioning.migrations import MIGRATIONS
from paved_provisioning.settings import ProvisioningSettings


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["worker"]:
        settings = load_settings(ProvisioningSettings)
        configure_logging("provisioning-worker", settings.log_level, settings.log_format)
        raise SystemExit(asyncio.run(run_worker_process(settings)))
    run_service("provisioning", ProvisioningSettings, build, args, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
