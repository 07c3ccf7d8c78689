"""The committed Terraform stands on its own: every module a service's ``main.tf.json`` calls is committed
next to it, every argument of a call is a variable the module declares, and every variable the module
requires is passed (read with python-hcl2, as Terraform reads the modules)."""

from __future__ import annotations

import io
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

sys.path.append(str(Path(__file__).resolve().parent))
from golden_path_output import Case, committed_files, golden_paths, matrix
from paved_provisioning import terraform_modules

SPECS = golden_paths()
CASES = [case for label, spec in SPECS.items() for case in matrix(spec, label)]
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def _unquote(name: str) -> str:
    return name.strip('"')


def declared_variables(files: dict[str, bytes], directory: str) -> dict[str, bool]:
    """Variable name -> required (no default), over every .tf file of a committed module directory."""
    variables: dict[str, bool] = {}
    for path, content in files.items():
        if path.startswith(directory + "/") and path.endswith(".tf"):
            variables.update(_variables(content))
    return variables


@cache
def _variables(content: bytes) -> dict[str, bool]:
    parsed = hcl2.load(io.StringIO(content.decode()))
    return {
        _unquote(name): "default" not in body
        for block in parsed.get("variable", [])
        for name, body in block.items()
    }


def _module_calls(files: dict[str, bytes]) -> list[tuple[str, str, dict[str, Any]]]:
    calls = []
    for path, content in files.items():
        if path.endswith("/terraform/main.tf.json"):
            for key, call in json.loads(content).get("module", {}).items():
                calls.append((path.rsplit("/", 1)[0], key, call))
    return calls


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_module_call_matches_the_module_it_calls(case: Case) -> None:
    files = committed_files(SPECS[case.template], case)
    calls = _module_calls(files)
    assert calls, "a service's Terraform calls the service module at least"
    for directory, key, call in calls:
        source = call["source"]
        assert re.fullmatch(r"\./modules/[a-z0-9-]+", source), f"module {key}: {source} is not committed"
        module_dir = f"{directory}/{source.removeprefix('./')}"
        variables = declared_variables(files, module_dir)
        assert variables, f"module {key}: nothing committed under {module_dir}"
        arguments = set(call) - META_ARGUMENTS
        assert arguments <= set(variables), (
            f"module {key} passes undeclared {sorted(arguments - set(variables))}"
        )
        required = {name for name, needed in variables.items() if needed}
        assert required <= arguments, f"module {key} misses required {sorted(required - arguments)}"


def test_the_service_module_has_the_source_design_interface() -> None:
    files = {
        f"m/{name}": content for name, content in terraform_modules.shipped_modules()["paved-service"].items()
    }
    assert set(declared_variables(files, "m")) >= {
        "name",
        "environment",
        "instance_type",
        "min_instances",
        "max_instances",
        "vpc_id",
        "subnet_ids",
        "enable_monitoring",
        "enable_tracing",
        "log_retention_days",
        "enable_encryption",
        "enable_waf",
        "cost_center",
        "owner_team",
    }


def test_committed_modules_carry_the_version_and_a_new_version_changes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = SPECS["web-service"]
    case = next(matrix(spec))
    files = committed_files(spec, case)
    module_files = {p: c for p, c in files.items() if "/terraform/modules/" in p}
    assert {p.split("/terraform/modules/")[1].split("/")[0] for p in module_files} == {
        "paved-service",
        "paved-database",
    }
    assert all(f"{terraform_modules.MODULE_VERSION}".encode() in c for c in module_files.values())
    monkeypatch.setattr(terraform_modules, "MODULE_VERSION", "9.9.9")
    terraform_modules.shipped_modules.cache_clear()
    try:
        again = committed_files(spec, case)
    finally:
        terraform_modules.shipped_modules.cache_clear()
    assert all(b"9.9.9" in again[p] for p in module_files), "a new module version rewrites every module file"


def test_a_call_of_a_module_paved_does_not_ship_is_refused() -> None:
    with pytest.raises(terraform_modules.UnknownModule, match="paved-nothing"):
        terraform_modules.module_files({"module": {"x": {"source": "./modules/paved-nothing"}}})
