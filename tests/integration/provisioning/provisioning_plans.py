"""Rendered plans for tests, shaped like the catalog renders them (shared resource vocabulary)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from paved.common.v1 import common_pb2


def plan_dict(
    service: str = "orders",
    team: str = "payments",
    environment: str = "production",
    *,
    image: str = "registry.paved.dev/payments/orders:1.0.0",
    max_instances: int = 3,
    instance_type: str = "c5.2xlarge",
) -> dict[str, Any]:
    tags = {
        "owner": team,
        "team": team,
        "cost_center": "cc-42",
        "environment": environment,
        "service": service,
    }
    labels = {"app": service}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": service,
                            "image": image,
                            "ports": [{"containerPort": 8080}],
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                        }
                    ]
                },
            },
        },
    }
    k8s_service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service, "labels": labels},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": service},
        "spec": {
            "rules": [
                {
                    "host": f"{service}.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    database = {
        "resource": {
            "aws_db_instance": {
                service.replace("-", "_"): {
                    "engine": "postgres",
                    "instance_class": "db.r5.large",
                    "allocated_storage": 100,
                    "storage_encrypted": True,
                    "tags": tags,
                }
            }
        }
    }
    return {
        "service_name": service,
        "team": team,
        "environment": environment,
        "template": "templates/microservice",
        "template_revision": 1,
        "parameters": {"service_name": service, "team": team, "environment": environment},
        "namespace": environment,
        "image": image,
        "region": "us-east-1",
        "workflows": [
            {
                "name": "deploy",
                "steps": [
                    "validate_config",
                    "run_tests",
                    "build_image",
                    "deploy_canary",
                    "run_smoke_tests",
                    "promote_production",
                ],
            },
            {
                "name": "rollback",
                "steps": ["identify_previous_version", "deploy_previous_version", "verify_health"],
            },
        ],
        "resources": [
            {
                "name": "compute",
                "type": "compute",
                "tags": tags,
                "properties": {
                    "instance_type": instance_type,
                    "min_instances": 2,
                    "max_instances": max_instances,
                    "replicas": 2,
                    "image": image,
                    "port": 8080,
                },
                "manifests": [deployment, k8s_service],
            },
            {
                "name": "networking",
                "type": "networking",
                "tags": tags,
                "properties": {"load_balancer": True, "host": f"{service}.example.com"},
                "manifests": [ingress],
            },
            {
                "name": "database",
                "type": "database",
                "tags": tags,
                "properties": {"engine": "postgres", "instance_class": "db.r5.large", "encrypted": True},
                "manifests": [database],
            },
            {
                "name": "observability",
                "type": "observability",
                "tags": tags,
                "properties": {
                    "metrics": True,
                    "logs": True,
                    "traces": False,
                    "alerts": True,
                    "dashboards": ["RED"],
                },
                "manifests": [],
            },
        ],
    }


def plan(service: str = "orders", team: str = "payments", **kwargs: Any) -> common_pb2.Plan:
    return json_format.ParseDict(plan_dict(service, team, **kwargs), common_pb2.Plan())
