"""checkov, the IaC scanner, over what the golden paths commit: no failed check, and nothing skipped but
the documented, reasoned list (the config file's ``skip-check`` and the modules' inline skips).

checkov runs from its own locked environment (``tools/checkov``): its pins would downgrade the workspace's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parent))
from golden_path_output import Case, committed_files, golden_paths, matrix

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "checkov"
SPECS = golden_paths()
#: Inline skips in Paved's modules, each with its reason next to the resource.
DOCUMENTED_SKIPS = {
    "CKV_AWS_18",
    "CKV_AWS_109",
    "CKV_AWS_111",
    "CKV_AWS_144",
    "CKV_AWS_338",
    "CKV_AWS_356",
    "CKV2_AWS_5",
    "CKV2_AWS_57",
    "CKV2_AWS_62",
}


def _uv() -> str | None:
    """uv on PATH (make puts its own there), else the Makefile's project-local or the user's copy."""
    found = shutil.which("uv")
    candidates = [ROOT / ".tools" / "bin" / "uv", Path.home() / ".local" / "bin" / "uv"]
    return found or next((str(c) for c in candidates if c.exists()), None)


def _structural_cases() -> list[Case]:
    """Every template with each value of the parameters that change what is rendered (enums and bools;
    not the language label nor integer sizes), in every environment."""
    return [
        case
        for label, spec in SPECS.items()
        for case in matrix(spec, label)
        if case.parameters.get("language", "python") == "python"
        and "languages" not in case.parameters
        and not any(isinstance(v, int) and not isinstance(v, bool) for v in case.parameters.values())
    ]


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> dict:
    uv = _uv()
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is needed to run checkov from tools/checkov")
        pytest.skip("uv is not installed")
    root = tmp_path_factory.mktemp("gitops")
    cases = _structural_cases()
    for index, case in enumerate(cases):
        for path, content in committed_files(SPECS[case.template], case).items():
            target = root / f"{index:03d}-{case.template}" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    result = subprocess.run(
        [
            uv,
            "run",
            "--quiet",
            "--locked",
            "--project",
            str(TOOL),
            "checkov",
            "--config-file",
            str(TOOL / ".checkov.yaml"),
            "-d",
            str(root),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    start = result.stdout.find("[") if result.stdout.lstrip().startswith("[") else result.stdout.find("{")
    assert start >= 0, result.stdout[-2000:] + result.stderr[-2000:]
    reports = json.loads(result.stdout[start:])
    reports = reports if isinstance(reports, list) else [reports]
    return {"reports": reports, "cases": cases, "returncode": result.returncode}


def test_committed_kubernetes_and_terraform_pass_checkov(scan: dict) -> None:
    frameworks = {report.get("check_type") for report in scan["reports"]}
    assert {"kubernetes", "terraform"} <= frameworks
    failed = [
        f"{check['check_id']} {check['resource']} {check['file_path']}"
        for report in scan["reports"]
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []
    # Passes are counted from the per-framework summaries.
    passed = sum(report.get("summary", {}).get("passed", 0) for report in scan["reports"])
    assert passed > 100


def test_only_documented_checks_are_skipped_and_each_has_a_reason(scan: dict) -> None:
    skipped = [
        check for report in scan["reports"] for check in report.get("results", {}).get("skipped_checks", [])
    ]
    assert {check["check_id"] for check in skipped} <= DOCUMENTED_SKIPS
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, check["check_id"]
    config = (TOOL / ".checkov.yaml").read_text()
    for check_id in re.findall(r"^\s*- (CKV\w+)", config, flags=re.MULTILINE):
        before = config.split(f"- {check_id}")[0].rstrip().splitlines()
        assert before[-1].lstrip().startswith("#"), f"{check_id} in .checkov.yaml needs its reason above it"


def test_the_scan_covers_every_template_and_data_store(scan: dict) -> None:
    templates = {case.template for case in scan["cases"]}
    assert templates == set(SPECS)
    databases = {case.parameters.get("database") for case in scan["cases"]}
    assert {"postgres", "mysql", "dynamodb"} <= databases
