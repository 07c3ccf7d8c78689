"""A full run of the suite configured as in production never logs its secrets.

Every service is a real process; they talk over mutual TLS with certificates made here, with the
service token on every call. Secrets configured: the service token, a PostgreSQL password in each
database URL, the gateway's caller tokens, the alerting default webhook URL, provisioning's CI webhook
token and GitOps remote password, the TLS private keys; plus a bogus token a caller presents. Every
process logs at DEBUG; the test drives calls through the gateway (whose every hop is mutual TLS) and
straight to the services (good and bad credentials, with and without a client certificate, bad input),
asks every service for its ``config``, stops everything with SIGTERM, then searches all output and all
answers for the secrets.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from sqlalchemy.engine import make_url

GRPC_SERVICES = ("catalog", "provisioning", "policy", "cost", "alerting")
# Generous: on a busy 2-core machine six Python processes take a while to import and start.
START_TIMEOUT = 300.0
# The module's first test also pays for starting the whole suite.
pytestmark = pytest.mark.timeout(600)


@dataclass(frozen=True)
class Secrets:
    service_token: str = field(default_factory=lambda: f"svc-token-{uuid.uuid4().hex}")
    db_password: str = field(default_factory=lambda: f"db-pass-{uuid.uuid4().hex}")
    admin_token: str = field(default_factory=lambda: f"admin-token-{uuid.uuid4().hex}")
    webhook_key: str = field(default_factory=lambda: f"hook-key-{uuid.uuid4().hex}")
    ci_token: str = field(default_factory=lambda: f"ci-token-{uuid.uuid4().hex}")
    bogus_token: str = field(default_factory=lambda: f"bogus-token-{uuid.uuid4().hex}")
    # Shaped like a JWT (not signed by anyone the gateway trusts).
    bogus_jwt: str = field(
        default_factory=lambda: (
            f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ{uuid.uuid4().hex}.c2lnbmF0dXJl{uuid.uuid4().hex}"
        )
    )
    gitops_password: str = field(default_factory=lambda: f"git-pass-{uuid.uuid4().hex}")

    def all(self) -> dict[str, str]:
        return dict(vars(self))


@dataclass
class Run:
    """What a full run left behind: each process's output and every HTTP/gRPC answer received."""

    secrets: Secrets
    key_lines: list[str]
    logs: dict[str, str]
    config_outputs: dict[str, str]
    responses: list[str]
    statuses: dict[str, int]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, token: str | None = None, body: object | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST" if body is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        request.add_header("Content-Type", "application/json")
        data = json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, data=data, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_until(check: object, what: str, processes: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for name, process in processes.items():
            assert process.poll() is None, f"{name} exited with {process.returncode} while waiting for {what}"
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, grpc.RpcError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def tls_channel(port: int, certificates: Path | None, *, with_certificate: bool = True) -> grpc.Channel:
    """A channel to a service as a caller holding ``certificates`` (None: plaintext)."""
    if certificates is None:
        return grpc.insecure_channel(f"127.0.0.1:{port}")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certificates / "ca.crt").read_bytes(),
        private_key=(certificates / "tls.key").read_bytes() if with_certificate else None,
        certificate_chain=(certificates / "tls.crt").read_bytes() if with_certificate else None,
    )
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials)


def grpc_serving(port: int, certificates: Path) -> bool:
    with tls_channel(port, certificates) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def create_databases(server_url: str, names: list[str]) -> None:
    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        for name in names:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_databases(server_url: str, names: list[str]) -> None:
    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def tls_environment(prefix: str, certificates: Path, *, server: bool) -> dict[str, str]:
    """The variables the production overlay sets (overlays/production/grpc-tls/)."""
    env = {
        f"{prefix}TLS_CA_FILE": str(certificates / "ca.crt"),
        f"{prefix}TLS_CLIENT_CERT_FILE": str(certificates / "tls.crt"),
        f"{prefix}TLS_CLIENT_KEY_FILE": str(certificates / "tls.key"),
    }
    if server:
        env[f"{prefix}TLS_CERT_FILE"] = str(certificates / "tls.crt")
        env[f"{prefix}TLS_KEY_FILE"] = str(certificates / "tls.key")
        env[f"{prefix}TLS_CLIENT_CA_FILE"] = str(certificates / "ca.crt")
    return env


def environments(
    secrets: Secrets,
    server_url: str,
    databases: dict[str, str],
    ports: dict[str, int],
    data_dir: Path,
    certificates: dict[str, Path],
) -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAVED_")}
    server = make_url(server_url)
    envs: dict[str, dict[str, str]] = {}
    for name in GRPC_SERVICES:
        prefix = f"PAVED_{name.upper()}_"
        # The password travels in the URL, as in a real installation (local trust auth ignores it).
        database_url = server.set(
            drivername="postgresql+asyncpg", password=secrets.db_password, database=databases[name]
        ).render_as_string(hide_password=False)
        envs[name] = {
            **base,
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(ports[name]),
            f"{prefix}LOG_LEVEL": "DEBUG",
            f"{prefix}LOG_FORMAT": "json",
            f"{prefix}DATABASE_URL": database_url,
            f"{prefix}AUTH_TOKEN": secrets.service_token,
            **tls_environment(prefix, certificates[name], server=True),
        }
    for caller, callees in {
        "provisioning": ("catalog", "alerting", "cost"),
        "cost": ("provisioning",),
    }.items():
        for callee in callees:
            envs[caller][f"PAVED_{caller.upper()}_{callee.upper()}_ADDRESS"] = f"127.0.0.1:{ports[callee]}"
    envs["provisioning"]["PAVED_PROVISIONING_GITOPS_REPOSITORY"] = str(data_dir / "gitops.git")
    envs["provisioning"]["PAVED_PROVISIONING_CI_WEBHOOK_TOKEN"] = secrets.ci_token
    # Credentials in the remote URL, as HTTPS git remotes take them (nothing is pushed in this run).
    envs["provisioning"]["PAVED_PROVISIONING_GITOPS_REMOTE_URL"] = (
        f"https://paved-bot:{secrets.gitops_password}@127.0.0.1:9/platform/gitops.git"
    )
    # Loopback and a closed port: nothing is ever delivered anywhere.
    envs["alerting"]["PAVED_ALERTING_DEFAULT_WEBHOOK_URL"] = f"http://127.0.0.1:9/hooks/{secrets.webhook_key}"
    envs["gateway"] = {
        **base,
        "PAVED_GATEWAY_HOST": "127.0.0.1",
        "PAVED_GATEWAY_PORT": str(ports["gateway"]),
        "PAVED_GATEWAY_LOG_LEVEL": "DEBUG",
        "PAVED_GATEWAY_LOG_FORMAT": "json",
        "PAVED_GATEWAY_AUTH_TOKEN": secrets.service_token,
        "PAVED_GATEWAY_TOKENS": json.dumps(
            [{"token": secrets.admin_token, "subject": "ops", "teams": ["payments"], "roles": ["admin"]}]
        ),
        **{f"PAVED_GATEWAY_{s.upper()}_ADDRESS": f"127.0.0.1:{ports[s]}" for s in GRPC_SERVICES},
        **tls_environment("PAVED_GATEWAY_", certificates["gateway"], server=False),
    }
    return envs


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"level": value}
    return value


def exercise(
    secrets: Secrets, ports: dict[str, int], client: Path, responses: list[str], statuses: dict[str, int]
) -> None:
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    calls: dict[str, tuple[str, str | None, object | None]] = {
        "healthz": ("/healthz", None, None),
        "readyz": ("/readyz", None, None),
        "services": ("/api/services", secrets.admin_token, None),
        "templates": ("/api/templates", secrets.admin_token, None),
        "policies": ("/api/policies", secrets.admin_token, None),
        "costs": ("/api/costs?team=payments", secrets.admin_token, None),
        "alerts": ("/api/alerts", secrets.admin_token, None),
        "bogus token": ("/api/services", secrets.bogus_token, None),
        "bogus jwt": ("/api/services", secrets.bogus_jwt, None),
        # Inputs that made the gateway fail with 500 and log the caller's headers, token included.
        "deep create": (
            "/api/services",
            secrets.admin_token,
            {"name": "deep", "team": "payments", "template": "web-service", "parameters": nested(60)},
        ),
        "non-finite create": (
            "/api/services",
            secrets.admin_token,
            {"name": "nan", "team": "payments", "template": "web-service", "parameters": {"x": float("nan")}},
        ),
        "oversized create": (
            "/api/services",
            secrets.admin_token,
            {"name": "big", "team": "payments", "template": "web-service", "parameters": {"x": "x" * 2**21}},
        ),
        "bad create": (
            "/api/services",
            secrets.admin_token,
            {"name": "Not A DNS Name!", "team": "payments", "template": "web-service", "parameters": {}},
        ),
        "create": (
            "/api/services",
            secrets.admin_token,
            {"name": "checkout", "team": "payments", "template": "web-service", "parameters": {}},
        ),
    }
    for label, (path, token, body) in calls.items():
        status, text = http(gateway + path, token, body)
        statuses[label] = status
        responses.append(text)
    # Straight to a service over gRPC: the right token, then a caller presenting a bogus one.
    with tls_channel(ports["provisioning"], client) as channel:
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
        for label, token in (
            ("grpc good token", secrets.service_token),
            ("grpc bogus token", secrets.bogus_token),
        ):
            try:
                answer = stub.GetQuota(
                    provisioning_pb2.GetQuotaRequest(team="payments"),
                    metadata=[("authorization", f"Bearer {token}")],
                    timeout=10,
                )
                statuses[label] = grpc.StatusCode.OK.value[0]
                responses.append(str(answer))
            except grpc.RpcError as exc:
                statuses[label] = exc.code().value[0]
                responses.append(f"{exc.code()} {exc.details()} {exc.trailing_metadata()}")
    # Every service refuses callers that do not present a certificate of the CA, whatever their token.
    for name in GRPC_SERVICES:
        for label, certificates, with_certificate in (
            ("plaintext", None, True),
            ("no client certificate", client, False),
        ):
            with tls_channel(ports[name], certificates, with_certificate=with_certificate) as channel:
                try:
                    health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(),
                        metadata=[("authorization", f"Bearer {secrets.service_token}")],
                        timeout=5,
                    )
                    statuses[f"{name} {label}"] = grpc.StatusCode.OK.value[0]
                except grpc.RpcError as exc:
                    statuses[f"{name} {label}"] = exc.code().value[0]


@pytest.fixture(scope="module")
def full_run(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory, new_authority: Any
) -> Iterator[Run]:
    import asyncio

    secrets = Secrets()
    work = tmp_path_factory.mktemp("secrets-run")
    suffix = uuid.uuid4().hex[:8]
    databases = {name: f"paved_secrets_{name}_{suffix}" for name in GRPC_SERVICES}
    asyncio.run(create_databases(postgres_server_url, list(databases.values())))
    ports = {name: free_port() for name in (*GRPC_SERVICES, "gateway")}
    authority = new_authority(work / "pki", "paved internal CA")
    certificates = {name: authority.issue(name) for name in (*GRPC_SERVICES, "gateway", "client")}
    envs = environments(secrets, postgres_server_url, databases, ports, work, certificates)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: work / f"{name}.log" for name in envs}
    # `config` prints the effective settings; run alongside the start-up, which mostly waits.
    printed = {
        name: subprocess.Popen(
            [sys.executable, "-m", f"paved_{name}", "config"],
            env=env,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for name, env in envs.items()
    }
    try:
        for name, env in envs.items():
            with logs[name].open("wb") as out:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", f"paved_{name}"],
                    env=env,
                    cwd=work,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        for name in GRPC_SERVICES:
            wait_until(
                lambda port=ports[name]: grpc_serving(port, certificates["client"]),
                f"{name} SERVING",
                processes,
            )
        wait_until(
            lambda: http(f"http://127.0.0.1:{ports['gateway']}/healthz")[0] == 200, "gateway", processes
        )
        responses: list[str] = []
        statuses: dict[str, int] = {}
        exercise(secrets, ports, certificates["client"], responses, statuses)
        config_outputs = {name: out.communicate(timeout=120)[0] for name, out in printed.items()}
    finally:
        for leftover in printed.values():
            if leftover.poll() is None:
                leftover.kill()
                leftover.communicate()
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        asyncio.run(drop_databases(postgres_server_url, list(databases.values())))
    yield Run(
        # A line of each private key's PEM body: key material must not be logged either.
        key_lines=[(certificates[name] / "tls.key").read_text().splitlines()[1] for name in envs],
        secrets=secrets,
        logs={name: path.read_text(errors="replace") for name, path in logs.items()},
        config_outputs=config_outputs,
        responses=responses,
        statuses=statuses,
    )


def leaks(text: str, run: Run) -> list[str]:
    found = [name for name, value in run.secrets.all().items() if value in text]
    return found + ["a TLS private key" for line in run.key_lines if line in text]


def test_the_run_really_happened(full_run: Run) -> None:
    # Without this the search below could pass on empty logs.
    assert full_run.statuses["healthz"] == 200
    assert full_run.statuses["bogus token"] == 401
    assert full_run.statuses["bogus jwt"] == 401
    assert full_run.statuses["deep create"] == 400
    assert full_run.statuses["non-finite create"] == 400
    assert full_run.statuses["oversized create"] == 413
    assert full_run.statuses["grpc bogus token"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert full_run.statuses["grpc good token"] != grpc.StatusCode.UNAUTHENTICATED.value[0]
    # The gateway reached the services through mutual TLS (each of these is a gRPC hop).
    for label in ("readyz", "templates", "policies", "costs", "alerts"):
        assert full_run.statuses[label] == 200, label


@pytest.mark.parametrize("service", GRPC_SERVICES)
def test_every_service_refuses_callers_without_a_certificate(full_run: Run, service: str) -> None:
    unavailable = grpc.StatusCode.UNAVAILABLE.value[0]
    assert full_run.statuses[f"{service} plaintext"] == unavailable
    assert full_run.statuses[f"{service} no client certificate"] == unavailable
    for name, log in full_run.logs.items():
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert len(lines) >= 2, f"{name} logged nothing:\n{log[-2000:]}"
        assert any(line.get("level") == "debug" for line in lines) or name == "gateway", name
    assert "/api/services" in full_run.logs["gateway"]
    for name, output in full_run.config_outputs.items():
        settings = json.loads(output)
        if name != "gateway":
            assert "***" in settings["database_url"], name  # there, but masked


@pytest.mark.parametrize("process", ["gateway", *GRPC_SERVICES])
def test_no_secret_appears_in_the_logs(full_run: Run, process: str) -> None:
    assert leaks(full_run.logs[process], full_run) == []


def test_the_gateway_log_holds_no_headers_bodies_or_huge_lines(full_run: Run) -> None:
    lines = [json.loads(line) for line in full_run.logs["gateway"].splitlines() if line.startswith("{")]
    answered = [(line["path"], line["status"]) for line in lines if line.get("event") == "http request"]
    for status in (400, 401, 413):
        assert ("/api/services", status) in answered, status
    assert not [line for line in lines if "headers" in line or "body" in line]
    assert max(len(line) for line in full_run.logs["gateway"].splitlines()) < 20_000


def test_no_secret_appears_in_the_printed_configuration(full_run: Run) -> None:
    for name, output in full_run.config_outputs.items():
        assert leaks(output, full_run) == [], name


def test_no_secret_appears_in_any_answer(full_run: Run) -> None:
    assert full_run.responses
    for text in full_run.responses:
        assert leaks(text, full_run) == [], text[:500]
