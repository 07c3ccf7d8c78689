"""What the golden paths commit, produced the way the running suite produces it: the catalog renders a
plan, the plan crosses gRPC as ``paved.common.v1.Plan`` (Struct numbers become doubles), and provisioning
writes the GitOps files from the plan it received."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from paved.common.v1 import common_pb2
from paved_catalog.builtins import builtin_documents
from paved_catalog.convert import plan_to_proto
from paved_catalog.document import parse_template_document
from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.rendering import render
from paved_catalog.spec import ParameterSpec, TemplateSpec
from paved_provisioning import manifests
from paved_provisioning.convert import plan_dict

SITE = manifests.SiteConfig()
DATA = Path(__file__).resolve().parents[2] / "data"
CRDS = DATA / "crds"
SOURCE_DESIGN = DATA / "source_design" / "service-catalog.yaml"
ENVIRONMENTS = ("development", "production")
REQUIRED_VALUES = {
    "service_name": "orders",
    "team": "payments",
    "language": "python",
    "schedule": "0 3 * * *",
}


@dataclass(frozen=True)
class Case:
    """One render: a template, its parameters and an environment."""

    template: str
    parameters: dict[str, Any]
    environment: str

    @property
    def id(self) -> str:
        shown = ",".join(f"{k}={v}" for k, v in sorted(self.parameters.items()) if k != "service_name")
        return f"{self.template}[{self.environment}:{shown}]"


def spec_of(document: str) -> TemplateSpec:
    parsed = parse_template_document(document)
    assert parsed.spec is not None, parsed.violations
    return parsed.spec


def builtin_specs() -> dict[str, TemplateSpec]:
    return {spec.name: spec for spec in map(spec_of, builtin_documents().values())}


def golden_paths() -> dict[str, TemplateSpec]:
    """The built-in templates and the source design's own ServiceTemplate (loaded verbatim)."""
    return {**builtin_specs(), "source-design": spec_of(SOURCE_DESIGN.read_text())}


def _variants(parameter: ParameterSpec) -> list[Any]:
    if parameter.type == "enum":
        return list(parameter.values)
    if parameter.type == "bool":
        return [True, False]
    if parameter.type == "int":
        return [v for v in (parameter.min, parameter.max) if v is not None]
    return []


def _base(spec: TemplateSpec) -> dict[str, Any]:
    base: dict[str, Any] = {}
    for parameter in spec.parameters:
        if parameter.name in REQUIRED_VALUES:
            base[parameter.name] = REQUIRED_VALUES[parameter.name]
        elif parameter.required and parameter.type == "enum":
            base[parameter.name] = parameter.values[0]
    return base


def matrix(spec: TemplateSpec, label: str = "") -> Iterator[Case]:
    """The defaults, then each value of every enum and bool and each bound of every int, one at a time,
    in every environment (a bound that breaks ``max_instances >= min_instances`` is left out)."""
    base = _base(spec)
    combos: list[dict[str, Any]] = [dict(base)]
    for parameter in spec.parameters:
        for value in _variants(parameter):
            combos.append({**base, parameter.name: value})
    seen: set[str] = set()
    for parameters, environment in itertools.product(combos, ENVIRONMENTS):
        low = parameters.get("min_instances", _default(spec, "min_instances", 0))
        high = parameters.get("max_instances", _default(spec, "max_instances", 10**6))
        if high < low:
            continue
        case = Case(label or spec.name, parameters, environment)
        if case.id not in seen:
            seen.add(case.id)
            yield case


def _default(spec: TemplateSpec, name: str, fallback: int) -> int:
    parameter = spec.parameter(name)
    return int(parameter.default) if parameter is not None and parameter.default is not None else fallback


def received_plan(spec: TemplateSpec, case: Case) -> dict[str, Any]:
    """The plan provisioning works from, after the catalog rendered it and gRPC carried it."""
    rendered = render(
        spec,
        1,
        case.parameters,
        RenderContext(team="payments", environment=case.environment),
        PlatformDefaults(),
    )
    wire = plan_to_proto(rendered).SerializeToString()
    return plan_dict(common_pb2.Plan.FromString(wire))


def committed_files(spec: TemplateSpec, case: Case) -> dict[str, bytes]:
    return manifests.render_files(received_plan(spec, case), SITE)


def kubernetes_documents(files: dict[str, bytes]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, object) for every object the kustomization lists, decoded from the committed YAML."""
    for path, content in files.items():
        if not path.endswith("kustomization.yaml"):
            continue
        base = path.rsplit("/", 1)[0]
        for listed in yaml.safe_load(content)["resources"]:
            for document in yaml.safe_load_all(files[f"{base}/{listed}"]):
                if document:
                    yield f"{base}/{listed}", document


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The shipped schema of a custom resource (``tests/data/crds``), or None for any other kind."""
    group, _, version = api_version.rpartition("/")
    path = CRDS / f"{group}_{kind.lower()}_{version}.json"
    return json.loads(path.read_text()) if path.is_file() else None
