"""The rendered workloads are wired as the services expect: settings, addresses, probes, limits, TLS."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, get_args

import pytest
from paved_kit.settings import BaseServiceSettings
from pydantic import SecretStr

Manifest = dict[str, Any]
OVERLAYS = ("dev", "production")
REPO = Path(__file__).resolve().parents[3]
GRPC_PORTS = {"catalog": 50051, "provisioning": 50052, "policy": 50053, "cost": 50054, "alerting": 50055}
# Who calls whom over gRPC (the shared design): these and only these get an address of another service.
CALLS = {
    "paved-gateway": {"catalog", "provisioning", "policy", "cost", "alerting"},
    # policy: guardrails of automatic rightsizing.
    "paved-provisioning": {"catalog", "alerting", "cost", "policy"},
    "paved-provisioning-worker": {"catalog", "alerting", "cost"},
    "paved-cost": {"provisioning", "catalog", "alerting"},
    # Scorecard facts, reported best-effort.
    "paved-policy": {"catalog"},
    # provisioning: the changes behind an anomaly (its likely cause).
    "paved-alerting": {"catalog", "provisioning"},
}
# Settings every service inherits from paved_kit; a manifest may only set these (plus addresses).
KIT_FIELDS = set(BaseServiceSettings.model_fields)
SECRET_FIELDS = {
    name
    for name, field in BaseServiceSettings.model_fields.items()
    if SecretStr in get_args(field.annotation)
}
# Secrets that production expects to exist in the namespace, created outside this repository.
EXTERNAL_SECRETS = {"paved-database", "paved-auth", "paved-grpc-tls", "paved-ingress-tls"}


def settings_class(service: str) -> type[BaseServiceSettings]:
    """The settings the service's process reads (paved_kit's common ones until the service has its own)."""
    try:
        module = importlib.import_module(f"paved_{service}.settings")
    except ImportError:
        return BaseServiceSettings
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseServiceSettings)
        and value is not BaseServiceSettings
    ]
    assert len(classes) == 1, f"paved_{service}.settings: which settings class? {classes}"
    return classes[0]


def by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def service_of(deployment: str) -> str:
    """``paved-provisioning-worker`` → ``provisioning`` (the settings prefix its process uses)."""
    return deployment.removeprefix("paved-").removesuffix("-worker")


def container(workload: Manifest) -> Manifest:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def config_value(objects: list[Manifest], ref: Manifest) -> str:
    config_maps = by_kind(objects, "ConfigMap")
    return str(config_maps[ref["configMapKeyRef"]["name"]]["data"][ref["configMapKeyRef"]["key"]])


def env_of(workload: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in container(workload).get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_is_the_right_service_and_listens_on_its_port(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = overlays[overlay]
    deployments = by_kind(objects, "Deployment")
    services = by_kind(objects, "Service")
    for svc, port in GRPC_PORTS.items():
        main = container(deployments[f"paved-{svc}"])
        assert main["command"] == ["python", "-m", f"paved_{svc}"]
        env = env_of(deployments[f"paved-{svc}"])
        assert env[f"PAVED_{svc.upper()}_PORT"]["value"] == str(port)
        # The default host is loopback, which no other pod can reach.
        assert env[f"PAVED_{svc.upper()}_HOST"]["value"] == "0.0.0.0"
        assert {"name": "grpc", "containerPort": port, "protocol": "TCP"} in main["ports"]
        grpc_port = next(p for p in services[f"paved-{svc}"]["spec"]["ports"] if p["name"] == "grpc")
        assert grpc_port["port"] == port and grpc_port["targetPort"] == "grpc"
        assert services[f"paved-{svc}"]["spec"]["selector"].items() <= (
            deployments[f"paved-{svc}"]["spec"]["template"]["metadata"]["labels"].items()
        )
    worker = container(deployments["paved-provisioning-worker"])
    assert worker["command"] == ["python", "-m", "paved_provisioning", "worker"]
    gateway = container(deployments["paved-gateway"])
    assert gateway["command"] == ["python", "-m", "paved_gateway"]
    assert env_of(deployments["paved-gateway"])["PAVED_GATEWAY_PORT"]["value"] == "8080"
    ingress = by_kind(objects, "Ingress")["paved-gateway"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "paved-gateway" and backend["port"]["name"] == "http"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_ones_the_services_read(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    workloads = {**by_kind(overlays[overlay], "Deployment"), **by_kind(overlays[overlay], "Job")}
    for name, workload in workloads.items():
        service = service_of(name.removesuffix("-migrate"))
        fields = settings_class(service).model_fields
        secrets = {key for key, field in fields.items() if SecretStr in get_args(field.annotation)}
        prefix = f"PAVED_{service.upper()}_"
        for variable in env_of(workload):
            assert variable.startswith(prefix), f"{name}: {variable} is not read by this service"
            field = variable.removeprefix(prefix).lower()
            if field.endswith("_file") and field.removesuffix("_file") in secrets:
                field = field.removesuffix("_file")  # paved_kit reads secrets from <VAR>_FILE too
            if field.endswith("_address") and field not in fields:
                # A caller's setting the service has not declared yet: the agreed name must still fit.
                assert field.removesuffix("_address") in GRPC_PORTS, f"{name}: {variable}"
                continue
            assert field in fields, f"{name}: {variable} is no setting of {settings_class(service).__name__}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_caller_gets_the_address_of_each_service_it_calls_and_no_other(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = overlays[overlay]
    services = by_kind(objects, "Service")
    for name, deployment in by_kind(objects, "Deployment").items():
        prefix = f"PAVED_{service_of(name).upper()}_"
        env = env_of(deployment)
        called = {
            v.removeprefix(prefix).removesuffix("_ADDRESS").lower() for v in env if v.endswith("_ADDRESS")
        }
        assert called == CALLS.get(name, set()), name
        for other in called:
            address = config_value(objects, env[f"{prefix}{other.upper()}_ADDRESS"]["valueFrom"])
            host, port = address.rsplit(":", 1)
            assert host in services, f"{name}: {address} names no Service"
            assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, address
            assert int(port) == GRPC_PORTS[other]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_databases_come_from_a_secret_and_migrations_use_the_same_one(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = overlays[overlay]
    deployments = by_kind(objects, "Deployment")
    jobs = by_kind(objects, "Job")
    for svc in GRPC_PORTS:
        variable = f"PAVED_{svc.upper()}_DATABASE_URL"
        served = env_of(deployments[f"paved-{svc}"])[variable]["valueFrom"]["secretKeyRef"]
        migrated = env_of(jobs[f"paved-{svc}-migrate"])[variable]["valueFrom"]["secretKeyRef"]
        assert served == migrated and served["key"] == svc
        assert container(jobs[f"paved-{svc}-migrate"])["command"] == [
            "python",
            "-m",
            f"paved_{svc}",
            "migrate",
        ]
        assert jobs[f"paved-{svc}-migrate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Operations run only in the worker Deployment, which scales separately from the API.
    assert env_of(deployments["paved-provisioning"])["PAVED_PROVISIONING_RUN_WORKER"]["value"] == "false"
    assert "PAVED_PROVISIONING_RUN_WORKER" not in env_of(deployments["paved-provisioning-worker"])
    worker_db = env_of(deployments["paved-provisioning-worker"])["PAVED_PROVISIONING_DATABASE_URL"]
    assert worker_db == env_of(deployments["paved-provisioning"])["PAVED_PROVISIONING_DATABASE_URL"]
    assert "PAVED_GATEWAY_DATABASE_URL" not in env_of(deployments["paved-gateway"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_behind_a_migration_job_do_not_migrate_themselves(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = overlays[overlay]
    jobs = by_kind(objects, "Job")
    for name, deployment in by_kind(objects, "Deployment").items():
        service = service_of(name)
        variable = f"PAVED_{service.upper()}_MIGRATE_ON_START"
        if f"paved-{service}-migrate" in jobs:
            assert env_of(deployment)[variable] == {"name": variable, "value": "false"}, name
        else:
            assert variable not in env_of(deployment), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_limits_probes_and_runs_unprivileged(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    workloads = [obj for obj in overlays[overlay] if obj["kind"] in ("Deployment", "StatefulSet", "Job")]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        for item in pod["containers"]:
            where = f"{workload['kind']}/{workload['metadata']['name']}"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= item["resources"][bound].keys(), where
            assert item["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert item["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["automountServiceAccountToken"] is False, where
            if workload["kind"] != "Job" and workload["metadata"]["name"] != "paved-provisioning-worker":
                assert {"readinessProbe", "livenessProbe"} <= item.keys(), where
            if workload["metadata"]["name"].startswith("paved-") and workload["kind"] != "StatefulSet":
                assert item["securityContext"]["readOnlyRootFilesystem"] is True, where
                assert pod["serviceAccountName"] == "paved", where


def test_dev_probes_use_the_native_grpc_health_check(overlays: dict[str, list[Manifest]]) -> None:
    deployments = by_kind(overlays["dev"], "Deployment")
    for svc, port in GRPC_PORTS.items():
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container(deployments[f"paved-{svc}"])[probe]["grpc"] == {"port": port}
    # The worker serves nothing to probe (leases, not probes, recover from a hung worker).
    worker = container(deployments["paved-provisioning-worker"])
    assert not {"ports", "readinessProbe", "livenessProbe", "startupProbe"} & worker.keys()
    gateway = container(deployments["paved-gateway"])
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_production_speaks_mutual_tls_between_services(overlays: dict[str, list[Manifest]]) -> None:
    deployments = by_kind(overlays["production"], "Deployment")
    for name, deployment in deployments.items():
        prefix = f"PAVED_{service_of(name).upper()}_"
        env = {k: v.get("value") for k, v in env_of(deployment).items()}
        mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        is_server = name != "paved-provisioning-worker" and service_of(name) in GRPC_PORTS
        wanted = ["TLS_CA_FILE", "TLS_CLIENT_CERT_FILE", "TLS_CLIENT_KEY_FILE"]
        if is_server:
            wanted += ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE"]
        for setting in wanted:
            path = env.get(prefix + setting)
            assert path, f"{name}: {prefix}{setting} unset"
            volume = volumes[mounts[str(Path(path).parent)]]
            assert volume["secret"]["secretName"] == "paved-grpc-tls"
        if is_server:
            # Kubelet cannot probe a TLS port natively: the probe runs the image's TLS health check.
            readiness = container(deployment)["readinessProbe"]
            assert "grpc" not in readiness
            command = readiness["exec"]["command"]
            assert command[:2] == ["python", "/opt/paved/healthcheck.py"]
            assert f"127.0.0.1:{GRPC_PORTS[service_of(name)]}" in command and name in command
    ingress = by_kind(overlays["production"], "Ingress")["paved-gateway"]
    assert ingress["spec"]["tls"][0]["secretName"] == "paved-ingress-tls"
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]]


def test_production_commits_no_credentials_and_documents_the_secrets_it_needs(
    overlays: dict[str, list[Manifest]],
) -> None:
    objects = overlays["production"]
    assert by_kind(objects, "Secret") == {}
    referenced = set()
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            pod = obj["spec"]["template"]["spec"]
            referenced |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
            for item in pod["containers"]:
                for env in item.get("env", []):
                    if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                        referenced.add(ref["name"])
        if obj["kind"] == "Ingress":
            referenced |= {tls["secretName"] for tls in obj["spec"].get("tls", [])}
    assert referenced == EXTERNAL_SECRETS
    readme = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    assert [name for name in sorted(EXTERNAL_SECRETS) if name not in readme] == []


def test_dev_database_urls_match_the_dev_postgres(overlays: dict[str, list[Manifest]]) -> None:
    import base64

    from sqlalchemy.engine import make_url

    secrets = {
        name.rsplit("-", 1)[0]: {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
        for name, s in by_kind(overlays["dev"], "Secret").items()
    }
    postgres = secrets["paved-postgres"]
    init_sql = next(
        cm
        for name, cm in by_kind(overlays["dev"], "ConfigMap").items()
        if name.startswith("paved-postgres-init")
    )["data"]["create-databases.sql"]
    services = by_kind(overlays["dev"], "Service")
    for svc in GRPC_PORTS:
        url = make_url(secrets["paved-database"][svc])
        assert url.drivername == "postgresql+asyncpg"
        assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
        assert url.host in services and url.port == 5432
        assert f"CREATE DATABASE {url.database};" in init_sql
    # Dev secrets are generated, so their names carry a content hash and pods pick up changes.
    deployment = by_kind(overlays["dev"], "Deployment")["paved-catalog"]
    ref = env_of(deployment)["PAVED_CATALOG_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]
    assert ref.startswith("paved-database-") and ref in by_kind(overlays["dev"], "Secret")


def test_dev_settings_given_through_env_from_are_settings_of_the_service(
    overlays: dict[str, list[Manifest]],
) -> None:
    import base64

    sources = {**by_kind(overlays["dev"], "Secret"), **by_kind(overlays["dev"], "ConfigMap")}
    used = 0
    for name, deployment in by_kind(overlays["dev"], "Deployment").items():
        service = service_of(name)
        settings = settings_class(service)
        for source in container(deployment).get("envFrom", []):
            ref = source.get("secretRef") or source["configMapRef"]
            if ref["name"] not in sources:
                assert ref.get("optional") is True, f"{name}: {ref['name']} is missing"
                continue
            obj = sources[ref["name"]]
            data = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
            environ = {**obj.get("stringData", {}), **data}
            prefix = f"PAVED_{service.upper()}_"
            assert all(key.startswith(prefix) for key in environ), environ.keys()
            # The service accepts them: its settings load from exactly this environment.
            loaded = settings.model_validate(
                {key.removeprefix(prefix).lower(): v for key, v in environ.items()}
            )
            assert loaded is not None
            used += 1
    assert used, "dev configures the gateway's caller tokens through envFrom"


def test_the_dev_gateway_token_is_one_the_gateway_accepts(overlays: dict[str, list[Manifest]]) -> None:
    import base64

    auth = pytest.importorskip("paved_gateway.auth")
    secret = next(
        s for n, s in by_kind(overlays["dev"], "Secret").items() if n.startswith("paved-gateway-secrets")
    )
    tokens = auth.parse_static_tokens(
        SecretStr(base64.b64decode(secret["data"]["PAVED_GATEWAY_TOKENS"]).decode())
    )
    assert [(t.subject, t.roles) for t in tokens] == [("dev-admin", ["admin"])]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_provisioning_api_and_workers_share_one_gitops_repository(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    deployments = by_kind(overlays[overlay], "Deployment")
    claims = by_kind(overlays[overlay], "PersistentVolumeClaim")
    seen = set()
    for name in ("paved-provisioning", "paved-provisioning-worker"):
        repository = Path(env_of(deployments[name])["PAVED_PROVISIONING_GITOPS_REPOSITORY"]["value"])
        mounts = {m["mountPath"]: m["name"] for m in container(deployments[name])["volumeMounts"]}
        volumes = {v["name"]: v for v in deployments[name]["spec"]["template"]["spec"]["volumes"]}
        claim = volumes[mounts[str(repository.parent)]]["persistentVolumeClaim"]["claimName"]
        assert claim in claims
        seen.add((claim, repository))
    assert len(seen) == 1, seen  # the same files, so the repository's file lock serialises commits
    ((claim, _),) = seen
    # Several worker pods on several nodes need shared storage; one dev node can do with RWO.
    expected = ["ReadWriteOnce"] if overlay == "dev" else ["ReadWriteMany"]
    assert claims[claim]["spec"]["accessModes"] == expected
