"""Start-up: how long each service takes from process spawn to SERVING (goal < 1 s alone; all six at once,
as `paved up` starts them, < 5 s), against two baselines measured in the same run:

- ``python -c pass``: the interpreter alone, spawn to exit;
- a bare ``grpc.aio`` server with only the standard health service, spawn to SERVING: the floor any
  Python gRPC service pays.

Each service runs ``python -m paved_<name>`` on 127.0.0.1 with its SQLite file already migrated (the
usual restart; the very first start, which creates the schema, is reported separately). SERVING is the
gRPC health service's answer (the gateway: ``GET /healthz``), polled every 10 ms. Medians of several
starts; CPU seconds of the process until SERVING are reported too, since on a loaded machine wall time
mostly measures the queue for a core.

    uv run python tests/benchmarks/bench_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("catalog", "provisioning", "policy", "cost", "alerting", "gateway")
GOAL_ALONE_S = 1.0
GOAL_ALL_S = 5.0
BARE_SERVER = """
import asyncio, sys
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

async def main():
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.wait_for_termination()

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    spawned: float
    serving: float | None = None
    cpu: float = float("nan")


def environment(name: str, port: int, workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAVED_")}
    prefix = f"PAVED_{name.upper()}_"
    env.update({f"{prefix}HOST": "127.0.0.1", f"{prefix}PORT": str(port), f"{prefix}LOG_LEVEL": "WARNING"})
    if name != "gateway":
        env[f"{prefix}DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir / f'{name}.db'}"
    if name == "provisioning":
        env[f"{prefix}GITOPS_REPOSITORY"] = str(workdir / "gitops.git")
    return env


def spawn(name: str, workdir: Path) -> Started:
    port = free_port()
    if name == "bare":
        command = [sys.executable, "-c", BARE_SERVER, str(port)]
        env = dict(os.environ)
    else:
        command = [sys.executable, "-m", f"paved_{name}"]
        env = environment(name, port, workdir)
    spawned = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Started(name, process, port, spawned)


_FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 10),
    ("grpc.min_reconnect_backoff_ms", 10),
    ("grpc.max_reconnect_backoff_ms", 10),
]


def is_serving(started: Started, channels: dict[str, grpc.Channel], client: httpx.Client) -> bool:
    if started.name == "gateway":
        try:
            return client.get(f"http://127.0.0.1:{started.port}/healthz", timeout=0.5).status_code == 200
        except httpx.TransportError:
            return False
    if started.name not in channels:
        # gRPC waits 1 s (then longer) before reconnecting to an address that refused: without these
        # options the poll, not the service, decides when SERVING is seen (a bare server read ~900 ms).
        channels[started.name] = grpc.insecure_channel(f"127.0.0.1:{started.port}", options=_FAST_RECONNECT)
    channel = channels[started.name]
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=0.5)
    except grpc.RpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def wait_all(group: list[Started], timeout: float = 600.0) -> None:
    channels: dict[str, grpc.Channel] = {}
    with httpx.Client() as client:
        deadline = time.perf_counter() + timeout
        while any(s.serving is None for s in group):
            for started in group:
                if started.serving is None and is_serving(started, channels, client):
                    started.serving = time.perf_counter()
                    started.cpu = cpu_seconds(started.process.pid)
                if started.process.poll() is not None and started.serving is None:
                    raise RuntimeError(f"{started.name} exited with {started.process.returncode}")
            if time.perf_counter() > deadline:
                raise RuntimeError("start-up timed out")
            time.sleep(0.01)
    for channel in channels.values():
        channel.close()


def stop(group: list[Started]) -> None:
    for started in group:
        started.process.terminate()
    for started in group:
        try:
            started.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            started.process.kill()
            started.process.wait()


def start_alone(name: str, workdir: Path) -> tuple[float, float]:
    started = spawn(name, workdir)
    try:
        wait_all([started])
    finally:
        stop([started])
    assert started.serving is not None
    return started.serving - started.spawned, started.cpu


def interpreter_alone() -> float:
    spawned = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - spawned


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer starts per service")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 5)
    print(
        f"database: SQLite files (embedded default, as `paved up`); {repeat} starts each; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        first = {name: start_alone(name, workdir)[0] for name in SERVICES}  # creates and migrates each file
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ("python", "bare", *SERVICES)}
        # Interleaved rounds, so load drifts hit every service and both baselines alike.
        for _ in range(repeat):
            samples["python"].append((interpreter_alone(), float("nan")))
            samples["bare"].append(start_alone("bare", workdir))
            for name in SERVICES:
                samples[name].append(start_alone(name, workdir))
        median = {name: statistics.median(wall for wall, _ in values) for name, values in samples.items()}
        cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
        print(
            f"{'':<28}{'to SERVING':>12}{'x python':>10}{'x bare':>8}{'CPU':>10}{'CPU x bare':>12}"
            f"{'first start':>13}"
        )
        for name in ("python", "bare", *SERVICES):
            label = {"python": "python -c pass (exit)", "bare": "bare grpc.aio + health"}.get(name, name)
            first_text = f"{first[name] * 1000:10.0f} ms" if name in first else ""
            cpu_text = "" if cpu[name] != cpu[name] else f"{cpu[name] * 1000:7.0f} ms"
            cpu_ratio = "" if cpu[name] != cpu[name] else f"{cpu[name] / cpu['bare']:11.1f}x"
            print(
                f"{label:<28}{median[name] * 1000:9.0f} ms{median[name] / median['python']:9.1f}x"
                f"{median[name] / median['bare']:7.1f}x{cpu_text:>10}{cpu_ratio:>12}{first_text:>13}"
            )
        slowest = max(median[name] for name in SERVICES)
        print(
            f"goal each service SERVING < {GOAL_ALONE_S:.0f} s alone: "
            f"{'met' if slowest < GOAL_ALONE_S else 'NOT met'} (slowest {slowest * 1000:.0f} ms)"
        )

        together = []
        for _ in range(max(1, repeat // 2)):
            group = [spawn(name, workdir) for name in SERVICES]
            began = min(s.spawned for s in group)
            try:
                wait_all(group)
            finally:
                stop(group)
            together.append(max(s.serving or 0.0 for s in group) - began)
        all_six = statistics.median(together)
        print(
            f"all six started at once, last one SERVING: {all_six * 1000:.0f} ms "
            f"(= {all_six / median['bare']:.1f}x one bare gRPC server); goal < {GOAL_ALL_S:.0f} s: "
            f"{'met' if all_six < GOAL_ALL_S else 'NOT met'}"
        )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
