"""deploy/compose.yaml runs the suite on PostgreSQL with every service wired to the ones it calls."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from paved_kit.settings import BaseServiceSettings
from pydantic import SecretStr
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "deploy" / "compose.yaml"
GRPC_PORTS = {"catalog": 50051, "provisioning": 50052, "policy": 50053, "cost": 50054, "alerting": 50055}
CALLS = {
    "gateway": {"catalog", "provisioning", "policy", "cost", "alerting"},
    # policy: guardrails of automatic rightsizing.
    "provisioning": {"catalog", "alerting", "cost", "policy"},
    "provisioning-worker": {"catalog", "alerting", "cost"},
    "cost": {"provisioning", "catalog", "alerting"},
    # Scorecard facts, reported best-effort.
    "policy": {"catalog"},
    # provisioning: the changes behind an anomaly (its likely cause).
    "alerting": {"catalog", "provisioning"},
}
PAVED_SERVICES = (*GRPC_PORTS, "provisioning-worker", "gateway")


def interpolate(value: Any) -> Any:
    """Compose's ``${VAR:-default}`` with nothing set: the defaults, as a fresh checkout runs (the
    default ends at the first ``}``, as in compose)."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), value)
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))
    return document


def settings_class(service: str) -> type[BaseServiceSettings]:
    try:
        module = importlib.import_module(f"paved_{service}.settings")
    except ImportError:
        return BaseServiceSettings
    (cls,) = (
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, BaseServiceSettings) and v is not BaseServiceSettings
    )
    return cls


def test_every_service_runs_its_own_command_from_the_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(PAVED_SERVICES) | {"postgres"} | {f"{s}-migrate" for s in GRPC_PORTS} == set(services)
    for name in PAVED_SERVICES:
        service = services[name]
        module = name.removesuffix("-worker")
        expected = ["python", "-m", f"paved_{module}"] + (["worker"] if name.endswith("-worker") else [])
        assert service["command"] == expected
        assert service["image"] == "paved:dev"
        assert (REPO / "deploy" / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            REPO / "deploy" / "docker" / "Dockerfile"
        )
    for name in GRPC_PORTS:
        assert services[f"{name}-migrate"]["command"] == ["python", "-m", f"paved_{name}", "migrate"]
        assert services[name]["depends_on"][f"{name}-migrate"] == {
            "condition": "service_completed_successfully"
        }


@pytest.mark.parametrize("name", PAVED_SERVICES + tuple(f"{s}-migrate" for s in GRPC_PORTS))
def test_each_service_loads_its_settings_from_its_environment(compose: dict[str, Any], name: str) -> None:
    service = name.removesuffix("-worker").removesuffix("-migrate")
    environment = compose["services"][name]["environment"]
    prefix = f"PAVED_{service.upper()}_"
    assert all(key.startswith(prefix) for key in environment)
    settings_cls = settings_class(service)
    fields = settings_cls.model_fields
    secrets = {key for key, f in fields.items() if SecretStr in get_args(f.annotation)}
    values = {}
    for key, value in environment.items():
        field = key.removeprefix(prefix).lower()
        if field.endswith("_file") and field.removesuffix("_file") in secrets:
            # A secret read from a file compose mounts at /run/secrets/<name>: read what it will mount.
            secret = value.removeprefix("/run/secrets/")
            assert secret in compose["services"][name].get("secrets", []), key
            values[field.removesuffix("_file")] = (
                REPO / "deploy" / compose["secrets"][secret]["file"]
            ).read_text()
            continue
        assert field in fields, f"{key} is no setting of {settings_cls.__name__}"
        values[field] = value
    settings = settings_cls.model_validate(values)
    if name != "gateway":
        url = make_url(settings.database_url)
        postgres = compose["services"]["postgres"]["environment"]
        assert (url.drivername, url.host, url.port) == ("postgresql+asyncpg", "postgres", 5432)
        assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
        assert url.database == f"paved_{service}"
    if name in GRPC_PORTS or name == "gateway":
        assert settings.host == "0.0.0.0"


def test_callers_reach_the_services_they_call_once_those_are_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in PAVED_SERVICES:
        environment = services[name]["environment"]
        prefix = f"PAVED_{name.removesuffix('-worker').upper()}_"
        called = {
            k.removeprefix(prefix).removesuffix("_ADDRESS").lower()
            for k in environment
            if k.endswith("_ADDRESS")
        }
        assert called == CALLS.get(name, set()), name
        for other in called:
            assert environment[f"{prefix}{other.upper()}_ADDRESS"] == f"{other}:{GRPC_PORTS[other]}"
            # cost and alerting call provisioning, which calls them: neither waits for the other (retries).
            if {name, other} not in ({"cost", "provisioning"}, {"alerting", "provisioning"}):
                assert services[name]["depends_on"][other] == {"condition": "service_healthy"}, (name, other)
    for name, port in GRPC_PORTS.items():
        assert services[name]["environment"][f"PAVED_{name.upper()}_PORT"] == str(port)
        assert services[name]["healthcheck"]["test"] == [
            "CMD",
            "python",
            "/opt/paved/healthcheck.py",
            "--address",
            f"127.0.0.1:{port}",
        ]
    assert services["gateway"]["ports"] == ["127.0.0.1:8080:8080"]


def test_services_behind_a_migration_container_do_not_migrate_themselves(compose: dict[str, Any]) -> None:
    # Schema first, code second: the migrate container finished, so a server seeing another schema is a
    # deployment mistake it must refuse rather than paper over.
    services = compose["services"]
    for name in PAVED_SERVICES:
        if name == "gateway":
            continue
        service = name.removesuffix("-worker")
        assert services[name]["environment"][f"PAVED_{service.upper()}_MIGRATE_ON_START"] == "false", name
        assert services[name]["depends_on"][f"{service}-migrate"] == {
            "condition": "service_completed_successfully"
        }, name
    for service in GRPC_PORTS:
        assert (
            f"PAVED_{service.upper()}_MIGRATE_ON_START" not in services[f"{service}-migrate"]["environment"]
        )


def test_the_databases_compose_creates_match_kubernetes_dev(compose: dict[str, Any]) -> None:
    docker_sql = (REPO / "deploy" / "docker" / "create-databases.sql").read_text()
    kubernetes_sql = (
        REPO / "deploy" / "kubernetes" / "overlays" / "dev" / "create-databases.sql"
    ).read_text()
    assert docker_sql == kubernetes_sql
    for name in GRPC_PORTS:
        assert f"CREATE DATABASE paved_{name};" in docker_sql
    mounts = compose["services"]["postgres"]["volumes"]
    assert "./docker/create-databases.sql:/docker-entrypoint-initdb.d/10-create-databases.sql:ro" in mounts


def test_the_gateway_reads_its_tokens_from_a_secret_file_it_accepts(compose: dict[str, Any]) -> None:
    auth = pytest.importorskip("paved_gateway.auth")
    gateway = compose["services"]["gateway"]
    assert "PAVED_GATEWAY_TOKENS" not in gateway["environment"]
    assert gateway["environment"]["PAVED_GATEWAY_TOKENS_FILE"] == "/run/secrets/gateway_tokens"
    assert gateway["secrets"] == ["gateway_tokens"]
    tokens_file = REPO / "deploy" / compose["secrets"]["gateway_tokens"]["file"]
    parsed = auth.parse_static_tokens(SecretStr(tokens_file.read_text()))
    assert [(t.subject, t.roles) for t in parsed] == [("dev-admin", ["admin"])]


def test_docker_compose_reads_the_file_as_these_tests_do(compose: dict[str, Any]) -> None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        command = [docker, "compose"]
    elif legacy := shutil.which("docker-compose"):
        command = [legacy]
    else:
        pytest.skip("no docker compose client here (deploy/ci-install.sh installs one in CI)")
    # No PAVED_* overrides, so compose resolves the same ${VAR:-default} values as interpolate().
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAVED_")}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert set(resolved) == set(compose["services"])
    for name, service in compose["services"].items():
        # Anchors and merge keys resolved alike: the tests above checked what compose will run.
        assert resolved[name].get("environment", {}) == {
            k: str(v) for k, v in service.get("environment", {}).items()
        }, name
        assert resolved[name].get("command") == service.get("command"), name
        assert set(resolved[name].get("depends_on", {})) == set(service.get("depends_on", {})), name
