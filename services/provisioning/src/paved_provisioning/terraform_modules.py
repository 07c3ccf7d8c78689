"""Paved's Terraform modules and the service module call: the modules ship inside Paved and are committed
next to each service's ``main.tf.json`` (``terraform/modules/<name>/``), so ``terraform init`` needs nothing
but the GitOps repository. A new MODULE_VERSION changes the files, and the next commit of each service
updates its copy.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

MODULE_VERSION = "1.0.0"
SERVICE_MODULE = "paved-service"
LOCAL_SOURCE = re.compile(r"^\./modules/([a-z0-9-]+)$")
REQUIRED_PROVIDERS = {"aws": {"source": "hashicorp/aws", "version": ">= 5.0, < 7.0"}}
#: Inputs of every service's root module: the network the platform team runs services in.
ROOT_VARIABLES = {
    "vpc_id": {"type": "string", "description": "VPC the platform runs services in."},
    "subnet_ids": {
        "type": "list(string)",
        "description": "Private subnets of services and their data stores.",
    },
}


class UnknownModule(ValueError):
    """A module call names a local module Paved does not ship."""


@cache
def shipped_modules() -> dict[str, dict[str, bytes]]:
    """Every module's files by module name, each headed with the module's name and version."""
    root = resources.files("paved_provisioning") / "terraform_modules"
    modules: dict[str, dict[str, bytes]] = {}
    for directory in sorted(root.iterdir(), key=lambda p: p.name):
        if not directory.is_dir():
            continue
        header = (
            f"# Paved Terraform module {directory.name} {MODULE_VERSION}. Shipped by Paved; a commit of the\n"
            "# service replaces local changes.\n\n"
        )
        modules[directory.name] = {
            f.name: header.encode() + f.read_bytes()
            for f in sorted(directory.iterdir(), key=lambda p: p.name)
            if f.name.endswith(".tf")
        }
    return modules


def called_modules(document: dict[str, Any]) -> list[str]:
    """The local modules the Terraform JSON calls; raises UnknownModule for one Paved does not ship."""
    names: list[str] = []
    for key, call in (document.get("module") or {}).items():
        match = LOCAL_SOURCE.match(str(call.get("source", ""))) if isinstance(call, dict) else None
        if match is None:
            continue
        if match.group(1) not in shipped_modules():
            raise UnknownModule(f"module {key} calls ./modules/{match.group(1)}, which Paved does not ship")
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def module_files(document: dict[str, Any]) -> dict[str, bytes]:
    """The files of every module ``document`` calls, by path relative to the Terraform directory."""
    return {
        f"modules/{name}/{file_name}": content
        for name in called_modules(document)
        for file_name, content in shipped_modules()[name].items()
    }


def service_module_call(plan: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """The call of ``paved-service`` for a plan: the source design's module interface, from the plan's
    resource properties."""
    by_type: dict[str, dict[str, Any]] = {}
    for resource in plan.get("resources", []):
        by_type.setdefault(str(resource.get("type")), resource.get("properties") or {})
    compute = by_type.get("compute", {})
    networking = by_type.get("networking", {})
    observed = by_type.get("observability", {})
    stores = [
        r.get("properties") or {}
        for r in plan.get("resources", [])
        if r.get("type") in ("database", "storage")
    ]
    return {
        "source": f"./modules/{SERVICE_MODULE}",
        "name": plan["service_name"],
        "environment": plan["environment"],
        "instance_type": str(compute.get("instance_type") or "t3.medium"),
        "min_instances": int(compute.get("min_instances") or 1),
        "max_instances": int(compute.get("max_instances") or compute.get("min_instances") or 1),
        "vpc_id": "${var.vpc_id}",
        "subnet_ids": "${var.subnet_ids}",
        "enable_monitoring": bool(observed.get("metrics", False)),
        "enable_tracing": bool(observed.get("traces", False)),
        "log_retention_days": int(observed.get("log_retention_days") or 30),
        "enable_encryption": all(p.get("encrypted", True) for p in stores),
        "enable_waf": bool(networking.get("load_balancer", False)),
        "cost_center": tags.get("cost_center", plan["team"]),
        "owner_team": plan["team"],
        "tags": dict(sorted(tags.items())),
    }
