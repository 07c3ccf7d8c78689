"""A real Backstage backend (deploy/backstage/e2e-backend: catalog, scaffolder, auth, Paved's modules,
in-memory SQLite) as a process, and what a test does with it: sign a user in, run a template through the
scaffolder's REST API, read the task's log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).parents[2]
BACKSTAGE_DIR = ROOT / "deploy" / "backstage"
ENTRY = BACKSTAGE_DIR / "e2e-backend" / "build" / "index.js"
TEMPLATES = BACKSTAGE_DIR / "templates"
START_TIMEOUT = 180.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LEVEL = re.compile(r"^(info|warn|error|debug): ")
ENDED = {"completed", "failed", "cancelled"}

ORG = [
    {"kind": "Group", "name": "payments", "members": ["alice"]},
    {"kind": "Group", "name": "search", "members": ["bob"]},
    {"kind": "Group", "name": "platform", "members": []},
]


def missing() -> str | None:
    """Why the Backstage backend cannot start here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not ENTRY.exists():
        return f"{ENTRY.relative_to(ROOT)} is not built: run make test-backstage"
    return None


def org_entities() -> list[dict[str, Any]]:
    """Groups and Users of the test organisation (users are members of their group)."""
    entities: list[dict[str, Any]] = []
    for group in ORG:
        entities.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Group",
                "metadata": {"name": group["name"]},
                "spec": {"type": "team", "children": []},
            }
        )
        for user in group["members"]:
            entities.append(
                {
                    "apiVersion": "backstage.io/v1alpha1",
                    "kind": "User",
                    "metadata": {"name": user},
                    "spec": {"memberOf": [group["name"]]},
                }
            )
    return entities


@dataclass
class Backstage:
    """The running backend."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def token(self, user: str) -> str:
        """A Backstage user token, issued by Backstage's auth backend for the catalog User ``user``."""
        if user not in self.tokens:
            response = httpx.get(f"{self.url}/api/auth/e2e/refresh", headers={"x-e2e-user": user}, timeout=30)
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["backstageIdentity"]["token"]
        return self.tokens[user]

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token(user)}"}, timeout=60
        )

    def start_task(self, user: str, template: str, values: dict[str, Any]) -> str:
        with self.client(user) as client:
            response = client.post(
                "/api/scaffolder/v2/tasks",
                json={"templateRef": f"template:default/{template}", "values": values},
            )
        assert response.status_code == 201, response.text
        task_id: str = response.json()["id"]
        return task_id

    def events(self, user: str, task_id: str) -> list[dict[str, Any]]:
        with self.client(user) as client:
            response = client.get(f"/api/scaffolder/v2/tasks/{task_id}/events")
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()
        return events

    def task_status(self, user: str, task_id: str) -> str:
        with self.client(user) as client:
            response = client.get(f"/api/scaffolder/v2/tasks/{task_id}")
        assert response.status_code == 200, response.text
        status: str = response.json()["status"]
        return status

    def wait_task(self, user: str, task_id: str, timeout: float = 180, retried: bool = False) -> Task:
        """The task once it has ended (for a ``retried`` task: once its run after the retry ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events(user, task_id)
            start = max((e["id"] for e in events if e["type"] == "recovered"), default=None)
            if (start is not None or not retried) and any(
                e["type"] == "completion" and (start is None or e["id"] > start) for e in events
            ):
                status = self.task_status(user, task_id)
                if status in ENDED:
                    return Task(task_id, status, events)
            time.sleep(0.2)
        raise AssertionError(f"task {task_id} did not end in {timeout}s: {self.events(user, task_id)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Task:
    """An ended scaffolder task: its status and its events."""

    id: str
    status: str
    events: list[dict[str, Any]]

    @property
    def completion(self) -> dict[str, Any]:
        return [e for e in self.events if e["type"] == "completion"][-1]

    @property
    def output(self) -> dict[str, Any]:
        output: dict[str, Any] = self.completion["body"].get("output") or {}
        return output

    @property
    def log(self) -> list[str]:
        """The log lines a user reads, in order (without the terminal colours)."""
        return [
            LEVEL.sub("", ANSI.sub("", str(e["body"].get("message", ""))))
            for e in self.events
            if e["type"] == "log"
        ]

    @property
    def text(self) -> str:
        return "\n".join(self.log)


def start_backstage(
    data_dir: Path,
    *,
    port: int,
    gateway_url: str,
    delegate_token: str,
    catalog_token: str,
    extra_templates: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Backstage:
    """Starts the backend on ``port`` against the Paved gateway at ``gateway_url``; waits until ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    org = data_dir / "org.yaml"
    org.write_text(yaml.safe_dump_all(org_entities()))
    locations = [{"type": "file", "target": str(org)}]
    locations += [{"type": "file", "target": str(path)} for path in sorted(TEMPLATES.glob("*.yaml"))]
    for index, template in enumerate(extra_templates):
        path = data_dir / f"extra-template-{index}.yaml"
        path.write_text(yaml.safe_dump(template))
        locations.append({"type": "file", "target": str(path)})
    url = f"http://127.0.0.1:{port}"
    config = {
        "app": {"baseUrl": url},
        "backend": {
            "baseUrl": url,
            "listen": {"host": "127.0.0.1", "port": port},
            "database": {"client": "better-sqlite3", "connection": ":memory:"},
        },
        "auth": {"environment": "development", "providers": {"e2e": {"enabled": True}}},
        "catalog": {
            "rules": [
                {"allow": ["Component", "System", "API", "Resource", "Location", "Template", "User", "Group"]}
            ],
            "locations": locations,
        },
        "paved": {
            "baseUrl": gateway_url,
            "token": delegate_token,
            "scaffolder": {"pollIntervalMs": 200},
            "catalog": {
                "token": catalog_token,
                "schedule": {"frequency": {"seconds": 2}, "timeout": {"seconds": 20}},
            },
        },
    }
    config_path = data_dir / "app-config.yaml"
    config_path.write_text(json.dumps(config))
    log_path = data_dir / "backstage.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAVED_", "NODE_OPTIONS"))}
    env["NODE_ENV"] = "development"
    env["LOG_LEVEL"] = "info"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["node", str(ENTRY), "--config", str(config_path)],
            cwd=ENTRY.parents[1],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    backstage = Backstage(url, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Backstage exited with {process.returncode}:\n{backstage.log()}")
        try:
            if httpx.get(f"{url}/.backstage/health/v1/readiness", timeout=2).status_code == 200:
                _wait_for_templates(backstage)
                return backstage
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    backstage.stop()
    raise RuntimeError(f"Backstage did not become ready in {START_TIMEOUT}s:\n{backstage.log()}")


def _wait_for_templates(backstage: Backstage) -> None:
    """The catalog has ingested the users and templates (locations are processed asynchronously)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with backstage.client("alice") as client:
                if (
                    client.get("/api/catalog/entities/by-name/template/default/web-service").status_code
                    == 200
                ):
                    return
        except AssertionError:
            pass  # alice is not in the catalog yet: no token
        time.sleep(0.5)
    raise RuntimeError(f"the catalog did not ingest the templates and users:\n{backstage.log()}")
