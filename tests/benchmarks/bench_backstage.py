"""Backstage benchmark: the whole Paved suite and a real Backstage backend (deploy/backstage/e2e-backend),
then the web-service template run through Backstage's scaffolder N times, its log read every 20 ms
(``/api/scaffolder/v2/tasks/{id}/events``):

1. first step line: from the POST that starts the task to the step's first line in the task log
   (goal <= 1 s), and to the first Paved operation step line;
2. end: from the operation's end (its ``end_time`` in Paved) to the task's completion event
   (goal <= 1 s).

Baseline, same run: the same create followed directly on the gateway's operation event stream (what
the CLI or a script would do without Backstage); the ratio is what Backstage and the module add.

Run (after ``make test-backstage`` built the backend): ``uv run python tests/benchmarks/bench_backstage.py
[--runs N] [--postgres]``. Default databases: the suite on SQLite files (as ``paved up``), Backstage on
in-memory SQLite; ``--postgres`` puts the suite on PostgreSQL (``PAVED_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from backstage_backend import Backstage, missing, start_backstage
from e2e_suite import create_databases, drop_databases, free_port, start_suite

ADMIN = {"token": "bench-admin-" + uuid.uuid4().hex, "subject": "bench", "roles": ["admin"]}
STEP_LINE = re.compile(r"\bstep [a-z_]+: ")  # a Paved operation step, as the action logs it
DELEGATE = {"token": "bench-delegate-" + uuid.uuid4().hex, "subject": "backstage", "roles": ["delegate"]}


def _stream(
    client: httpx.Client, url: str, seen: list[tuple[float, str, Any]], stop: threading.Event
) -> None:
    """Records (arrival time, event, data) of a server-sent event stream until ``stop`` or its end."""
    with client.stream("GET", url, headers={"accept": "text/event-stream"}, timeout=None) as response:
        event, data = "message", []
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                text = "\n".join(data)
                try:
                    payload: Any = json.loads(text)
                except ValueError:
                    payload = text
                seen.append((time.time(), event, payload))
                if event in {"completion", "done"}:
                    return
                event, data = "message", []


def _end_time(gateway: httpx.Client, operation: str) -> float:
    body = gateway.get(f"/api/operations/{operation}").json()
    assert body["done"] and body["status"] == "succeeded", body
    return datetime.fromisoformat(body["end_time"].replace("Z", "+00:00")).timestamp()


def _poll_events(client: httpx.Client, task_id: str, seen: dict[int, tuple[float, dict[str, Any]]]) -> None:
    """Reads the task's log every 20 ms until its completion, keeping when each event first appeared."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        now = time.time()
        for event in client.get(f"/api/scaffolder/v2/tasks/{task_id}/events").json():
            seen.setdefault(event["id"], (now, event))
        if any(event["type"] == "completion" for _, event in seen.values()):
            return
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} did not end")


def through_backstage(backstage: Backstage, gateway: httpx.Client) -> tuple[float, float, float]:
    """(first line of the step, first Paved step line) after the start, and the end after the operation's."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    values = {
        "service_name": name,
        "language": "python",
        "database": "none",
        "team": "group:default/payments",
        "environment": "development",
    }
    seen: dict[int, tuple[float, dict[str, Any]]] = {}
    with backstage.client("alice") as client:
        started = time.time()
        task_id = backstage.start_task("alice", "web-service", values)
        _poll_events(client, task_id, seen)
    events = sorted(seen.values(), key=lambda item: item[1]["id"])
    logs = [(t, str(e["body"].get("message", ""))) for t, e in events if e["type"] == "log"]
    step_lines = [t for t, e in events if e["type"] == "log" and e["body"].get("stepId") == "create"]
    paved_lines = [t for t, message in logs if STEP_LINE.search(message)]
    end = next(t for t, e in events if e["type"] == "completion")
    operation = next(
        message.split("operation ")[1].split(" ")[0]
        for _, message in logs
        if "Paved accepted the request" in message
    )
    return step_lines[0] - started, paved_lines[0] - started, end - _end_time(gateway, operation)


def direct(gateway: httpx.Client) -> tuple[float, float]:
    body = {
        "name": f"bench-{uuid.uuid4().hex[:8]}",
        "team": "search",  # its own quota: the Backstage runs use payments'
        "template": "web-service",
        "parameters": {"language": "python", "database": "none"},
    }
    started = time.time()
    response = gateway.post("/api/services", json=body)
    assert response.status_code == 202, response.text
    operation = response.json()["operation"].removeprefix("operations/")
    seen: list[tuple[float, str, Any]] = []
    _stream(gateway, f"/api/operations/{operation}/events", seen, threading.Event())
    steps = [t for t, event, _ in seen if event == "step"]
    ends = [t for t, event, _ in seen if event == "done"]
    return steps[0] - started, ends[-1] - _end_time(gateway, operation)


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    p50 = statistics.median(values)
    return f"p50 {p50 * 1000:7.0f} ms   p90 {p90 * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    reason = missing()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    server = os.environ.get(
        "PAVED_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    with tempfile.TemporaryDirectory(prefix="paved-bench-backstage-") as tmp:
        data = Path(tmp)
        urls = create_databases(server, f"paved_bench_bs_{uuid.uuid4().hex[:6]}") if args.postgres else {}
        suite = start_suite(
            data / "paved",
            database_urls=urls,
            extra_env={
                "gateway": {"PAVED_GATEWAY_TOKENS": json.dumps([ADMIN, DELEGATE])},
            },
        )
        backstage = None
        try:
            backstage = start_backstage(
                data / "backstage",
                port=free_port(),
                gateway_url=suite.gateway_url,
                delegate_token=DELEGATE["token"],
                catalog_token=ADMIN["token"],
            )
            with httpx.Client(
                base_url=suite.gateway_url, headers={"Authorization": f"Bearer {ADMIN['token']}"}, timeout=60
            ) as gateway:
                through_backstage(backstage, gateway)  # warm-up: first task, first connections
                direct(gateway)
                via = [through_backstage(backstage, gateway) for _ in range(args.runs)]
                base = [direct(gateway) for _ in range(args.runs)]
        finally:
            if backstage is not None:
                backstage.stop()
            suite.stop_all()
            if urls:
                drop_databases(server, urls)
    database = "PostgreSQL" if args.postgres else "SQLite files"
    print(f"Paved suite on {database}; Backstage on in-memory SQLite; {args.runs} runs each")
    print("(times are when a line is first in the task's log, read every 20 ms; Backstage's own UI")
    print(" event stream reads the log once a second, which adds up to 1 s on top of every figure)\n")
    print("first line of the step after the start (goal <= 1 s)")
    print(f"  through Backstage   {summary([v[0] for v in via])}")
    print("first Paved step line after the start")
    print(f"  through Backstage   {summary([v[1] for v in via])}")
    print(f"  gateway directly    {summary([b[0] for b in base])}")
    print("end after the operation ended (goal <= 1 s)")
    print(f"  through Backstage   {summary([v[2] for v in via])}")
    print(f"  gateway directly    {summary([b[1] for b in base])}")
    ratio_first = statistics.median([v[1] for v in via]) / statistics.median([b[0] for b in base])
    ratio_end = statistics.median([v[2] for v in via]) / max(statistics.median([b[1] for b in base]), 1e-3)
    print(f"\nratio Backstage / direct (p50): first Paved step line {ratio_first:.2f}x, end {ratio_end:.2f}x")
    ok = max(v[0] for v in via) <= 1.0 and max(v[2] for v in via) <= 1.0
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
