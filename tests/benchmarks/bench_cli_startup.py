"""How long the ``paved`` CLI takes before it does anything: CPU seconds of ``paved --help`` and of typical
commands up to the moment their first request reaches the gateway, against ``python -c pass`` (the floor
any Python CLI pays), interleaved in one run.

    uv run python tests/benchmarks/bench_cli_startup.py [--runs N]

The gateway is a local HTTP server that answers canned JSON; when a request arrives it reads the client's
CPU time from /proc/<pid>/stat, which is the CPU spent before the first request. Whole-process CPU comes
from wait4's resource usage. No database is involved. Target: < 0.3 s of CPU before the first request.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TARGET_SECONDS = 0.3
TICKS = os.sysconf("SC_CLK_TCK")
TEMPLATES = {
    "templates": [
        {
            "id": "web-service",
            "description": "An HTTP service",
            "parameters": [{"name": "language", "type": "TYPE_ENUM", "required": True, "values": ["python"]}],
        }
    ]
}
SERVICE = {
    "id": "checkout",
    "name": "checkout",
    "status": "active",
    "health": "healthy",
    "metrics": None,
    "cost": None,
    "endpoints": [],
    "unavailable": [],
}


class Gateway:
    """Canned answers; records the client's CPU seconds when its first request arrives."""

    def __init__(self) -> None:
        self.client_pid = 0
        self.cpu_at_first_request: float | None = None
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if gateway.cpu_at_first_request is None and gateway.client_pid:
                    gateway.cpu_at_first_request = cpu_of(gateway.client_pid)
                body = json.dumps(TEMPLATES if self.path.startswith("/api/templates") else SERVICE).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run(command: list[str], gateway: Gateway, env: dict[str, str]) -> tuple[float, float | None]:
    """(whole-process CPU seconds, CPU seconds before the first request or None)."""
    gateway.cpu_at_first_request = None
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway.client_pid = process.pid
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime, gateway.cpu_at_first_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    paved = shutil.which("paved") or str(Path(sys.executable).with_name("paved"))
    gateway = Gateway()
    env = {**os.environ, "PAVED_URL": gateway.url, "PAVED_CONFIG": os.devnull, "COLUMNS": "120"}
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "paved --help": [paved, "--help"],
        "paved templates": [paved, "templates"],
        "paved status checkout": [paved, "status", "checkout"],
    }
    whole: dict[str, list[float]] = {name: [] for name in commands}
    before: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved: load changes hit every command alike
        for name, command in commands.items():
            total, first = run(command, gateway, env)
            whole[name].append(total)
            if first is not None:
                before[name].append(first)
    floor = statistics.median(whole["python -c pass"])
    print(f"CLI start-up, {args.runs} runs each, median CPU seconds (user+sys); no database")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print(f"{'command':<24}{'whole process':>15}{'before 1st request':>20}{'x python -c pass':>18}")
    failed = False
    for name in commands:
        total = statistics.median(whole[name])
        first = statistics.median(before[name]) if before[name] else None
        budget = first if first is not None else total
        failed |= name != "python -c pass" and budget >= TARGET_SECONDS
        first_text = f"{first:.3f}" if first is not None else "—"
        print(f"{name:<24}{total:>15.3f}{first_text:>20}{total / floor if floor else float('nan'):>18.1f}")
    print(
        f"target: < {TARGET_SECONDS} s CPU before the first request (--help: whole process): "
        f"{'MISSED' if failed else 'met'}"
    )
    gateway.server.shutdown()


if __name__ == "__main__":
    main()
