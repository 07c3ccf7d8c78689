"""Fixtures for the deployment tests: the kustomize overlays built once with a real kustomize."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
KUBERNETES_DIR = REPO / "deploy" / "kubernetes"
OVERLAYS = ("dev", "production")

Manifest = dict[str, Any]


def _unavailable(reason: str) -> None:
    # CI installs kubectl (deploy/ci-install.sh); there a missing tool is a failure, not a skip.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kustomize_command() -> list[str]:
    """The command that builds a kustomization directory: ``kubectl kustomize`` or ``kustomize build``."""
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build"]
    _unavailable("neither kubectl nor kustomize is on PATH (deploy/ci-install.sh installs kubectl)")
    raise AssertionError("unreachable")


def build(command: list[str], directory: Path) -> list[Manifest]:
    """Every object ``directory``'s kustomization renders, offline."""
    result = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kustomize build of {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def overlays(kustomize_command: list[str]) -> dict[str, list[Manifest]]:
    """Overlay name → its rendered objects."""
    return {name: build(kustomize_command, KUBERNETES_DIR / "overlays" / name) for name in OVERLAYS}
