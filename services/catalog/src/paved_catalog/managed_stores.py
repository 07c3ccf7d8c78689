"""The platform's managed data stores: a ``database`` (or ``storage``) resource whose template is only
comments ("Provision managed database / Configure connection secrets / Set up backups", as the source
design writes it) becomes a call of Paved's Terraform module for the engine, encrypted with the service's
key, backed up and tagged, plus what the workload needs to reach it (an ExternalSecret with the connection,
or the table's name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_catalog.workloads import WORKLOAD_KINDS, add_environment, pod_template

DATABASE_ENGINES = ("postgres", "mysql", "dynamodb")
STORAGE_ENGINES = ("s3",)
DEFAULT_INSTANCE_CLASS = "db.t3.medium"
DEFAULT_STORAGE_GB = 20
#: A bucket has no allocated size; cost estimates assume this much stored data.
BUCKET_ESTIMATE_GB = 50
#: The ClusterSecretStore (External Secrets Operator) that reads AWS Secrets Manager; the cluster owns it.
SECRET_STORE = "paved-aws-secrets-manager"
SECRET_MOUNT = "/var/run/secrets/paved/database"


def module_key(service: str) -> str:
    """The Terraform name of the service's module call (module.<key>)."""
    return service.replace("-", "_")


def _engine(values: Mapping[str, Any], names: tuple[str, ...], engines: tuple[str, ...]) -> str:
    for name in names:
        value = values.get(name)
        if isinstance(value, str) and value in engines:
            return value
    return engines[0]


def connection_secret_name(service: str) -> str:
    return f"{service}-database"


def connection_secret_key(service: str, environment: str) -> str:
    """Name of the Secrets Manager secret the database module writes the connection into."""
    return f"paved/{environment}/{service}/database"


def database(
    resource_name: str,
    values: Mapping[str, Any],
    service: str,
    environment: str,
    region: str,
    tags: dict[str, str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(manifests, properties) of the managed database the values choose (``database``/``engine``)."""
    engine = _engine(values, ("database", "engine"), DATABASE_ENGINES)
    owner = module_key(service)
    production = environment == "production"
    name = f"{service}-{environment}"
    if engine == "dynamodb":
        call: dict[str, Any] = {
            "source": "./modules/paved-dynamodb",
            "name": name,
            "hash_key": "id",
            "kms_key_arn": f"${{module.{owner}.kms_key_arn}}",
            "tags": dict(tags),
        }
        properties: dict[str, Any] = {
            "engine": "dynamodb",
            "instance_class": "on-demand",
            "storage_gb": 0,
            "encrypted": True,
            "multi_az": True,
            "backup": "point-in-time recovery",
            "table": name,
            "region": region,
        }
        return [{"module": {resource_name: call}}], properties
    instance_class = values.get("database_instance_class") or DEFAULT_INSTANCE_CLASS
    storage = values.get("database_storage_gb") or DEFAULT_STORAGE_GB
    retention = 30 if production else 7
    call = {
        "source": "./modules/paved-database",
        "name": name,
        "environment": environment,
        "engine": engine,
        "instance_class": str(instance_class),
        "allocated_storage": int(storage),
        "multi_az": production,
        "backup_retention_days": retention,
        "vpc_id": "${var.vpc_id}",
        "subnet_ids": "${var.subnet_ids}",
        "client_security_group_ids": [f"${{module.{owner}.security_group_id}}"],
        "kms_key_arn": f"${{module.{owner}.kms_key_arn}}",
        "connection_secret_name": connection_secret_key(service, environment),
        "tags": dict(tags),
    }
    secret = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": connection_secret_name(service)},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": SECRET_STORE},
            "target": {"name": connection_secret_name(service), "creationPolicy": "Owner"},
            "dataFrom": [{"extract": {"key": connection_secret_key(service, environment)}}],
        },
    }
    properties = {
        "engine": engine,
        "instance_class": str(instance_class),
        "storage_gb": int(storage),
        "encrypted": True,
        "multi_az": production,
        "backup_retention_days": retention,
        "region": region,
    }
    return [{"module": {resource_name: call}}, secret], properties


def storage(
    resource_name: str, service: str, environment: str, region: str, tags: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(manifests, properties) of a managed, versioned, encrypted S3 bucket."""
    owner = module_key(service)
    name = f"{service}-{environment}-{resource_name}"
    call: dict[str, Any] = {
        "source": "./modules/paved-bucket",
        "name": name,
        "kms_key_arn": f"${{module.{owner}.kms_key_arn}}",
        "tags": dict(tags),
    }
    properties = {
        "storage_class": "s3",
        "storage_gb": BUCKET_ESTIMATE_GB,
        "encrypted": True,
        "versioned": True,
        "bucket": name,
        "region": region,
    }
    return [{"module": {resource_name: call}}], properties


def wire_workloads(workloads: list[dict[str, Any]], resources: list[Any], service: str) -> None:
    """Mount the database connection secret (as files, not environment) and name the table or bucket in
    the environment of every workload's containers."""
    secret = connection_secret_name(service)
    has_secret = any(
        m.get("kind") == "ExternalSecret" and m.get("metadata", {}).get("name") == secret
        for r in resources
        for m in r.manifests
    )
    environment: list[dict[str, str]] = []
    for r in resources:
        if r.type == "database" and r.properties.get("table"):
            environment.append({"name": "DYNAMODB_TABLE", "value": str(r.properties["table"])})
        if r.type == "storage" and r.properties.get("bucket"):
            environment.append({"name": "BUCKET_NAME", "value": str(r.properties["bucket"])})
    if has_secret:
        environment.append({"name": "DATABASE_CREDENTIALS_DIR", "value": SECRET_MOUNT})
    if environment:
        add_environment(workloads, environment)
    if not has_secret:
        return
    for workload in workloads:
        template = pod_template(workload) if workload.get("kind") in WORKLOAD_KINDS else None
        spec = template.get("spec") if template else None
        if not isinstance(spec, dict):
            continue
        volumes = spec.setdefault("volumes", [])
        if not any(isinstance(v, dict) and v.get("name") == "database-credentials" for v in volumes):
            volumes.append({"name": "database-credentials", "secret": {"secretName": secret}})
        for container in spec.get("containers") or []:
            mounts = container.setdefault("volumeMounts", [])
            if not any(isinstance(m, dict) and m.get("name") == "database-credentials" for m in mounts):
                mounts.append({"name": "database-credentials", "mountPath": SECRET_MOUNT, "readOnly": True})
