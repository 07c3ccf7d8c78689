"""The CLI's start-up stays light: loading the command line (what `paved --help` and every command pay
before anything happens) imports none of the heavy libraries; each is loaded by the command that uses it.
tests/benchmarks/bench_cli_startup.py measures the time itself."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {"rich", "httpx", "httpcore", "yaml", "grpc", "sqlalchemy", "pydantic", "paved_kit", "google"}


def test_loading_the_cli_imports_nothing_heavy() -> None:
    probe = (
        "import json, sys\n"
        "from paved_client.cli import main\n"
        "main.to_info_dict(main.make_context('paved', ['--help'], resilient_parsing=True))\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = set(
        json.loads(
            subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
        )
    )
    assert loaded & HEAVY == set()
