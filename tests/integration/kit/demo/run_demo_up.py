"""``paved up`` with only the demo service, as its own process (the tests kill it in several ways).

Usage: python run_demo_up.py PORT DATA_DIR
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from paved_client.up import ServiceSpec, run_up
from rich.console import Console

if __name__ == "__main__":
    port, data_dir = int(sys.argv[1]), Path(sys.argv[2])
    demo = ServiceSpec("demo", "paved_demo", "grpc", port)
    sys.exit(asyncio.run(run_up([demo], data_dir=data_dir, startup_timeout=60, console=Console(width=120))))
