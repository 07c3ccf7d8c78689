"""The Dockerfile builds one non-root image from the lock file; its build steps really install the suite.

No Docker engine runs here, so the build stage's ``uv sync`` steps are replayed exactly as written (same
commands, same environment, files laid out as its COPY lines lay them out) into a scratch directory.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
SERVICES = ("catalog", "provisioning", "policy", "cost", "alerting", "gateway")


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Build args and stages of a Dockerfile (continuations joined, comments dropped)."""
    text = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
    )
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in filter(None, (ln.strip() for ln in text.splitlines())):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
            stages.append(Stage(name.strip(), base.strip()))
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def copy_into_image(source: Path, dest: Path, *, into_directory: bool) -> None:
    """COPY's semantics: a directory's contents merge into ``dest``; a file lands in or as ``dest``."""
    if source.is_dir():
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".paved")
        shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)
        return
    if into_directory:
        dest.mkdir(parents=True, exist_ok=True)
        dest = dest / source.name
    shutil.copy2(source, dest)


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return {stage.name: stage for stage in parse(DOCKERFILE)[1]}


def workspace_members() -> list[str]:
    return sorted(
        str(p.parent.relative_to(REPO))
        for p in REPO.glob("*/*/pyproject.toml")
        if p.parts[-3] in ("libs", "services")
    )


def test_the_image_is_multi_stage_python_311_and_runs_as_the_kubernetes_uid(stages: dict[str, Stage]) -> None:
    assert list(stages) == ["uv", "build", "runtime"]
    assert stages["build"].base == stages["runtime"].base  # the venv's interpreter path must exist at runtime
    assert re.fullmatch(r"python:3\.11-slim-\w+", stages["runtime"].base)
    runtime = stages["runtime"]
    # Same uid:gid as runAsUser/runAsGroup in deploy/kubernetes; never root.
    assert runtime.all("USER") == ["10001:10001"]
    assert "/app/.venv/bin" in env_of(runtime)["PATH"].split(":")[0]
    assert ("COPY", "--from=build /app/.venv /app/.venv") in runtime.instructions
    # The production overlay's exec probes run this file.
    assert ("COPY", "deploy/docker/healthcheck.py /opt/paved/healthcheck.py") in runtime.instructions
    assert not any("pip install" in run or "uv " in run for run in runtime.all("RUN")), (
        "no installs at runtime"
    )


def test_dependencies_come_from_the_lock_file_only(stages: dict[str, Stage]) -> None:
    build = stages["build"]
    syncs = [run for run in build.all("RUN") if " uv sync " in f" {run} "]
    assert len(syncs) == 2
    for run in syncs:
        assert "--frozen" in run.split() and "--no-dev" in run.split()
    assert "--no-install-workspace" in syncs[0] and "--no-editable" in syncs[1]
    copied = {
        args.split()[0].removesuffix("/pyproject.toml")
        for args in build.all("COPY")
        if "pyproject.toml" in args
    }
    # A new workspace member must be added to the dependency layer, or `uv sync --frozen` fails.
    assert sorted(copied - {"pyproject.toml"}) == workspace_members()


def test_replaying_the_build_steps_installs_every_service(stages: dict[str, Stage], tmp_path: Path) -> None:
    if shutil.which("uv") is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not on PATH (`make test` puts the one it installs there)")
        pytest.skip("uv is not on PATH (`make test` puts the one it installs there)")
    build = stages["build"]
    root = tmp_path / "image"
    env = {**os.environ, **env_of(build)}
    env.pop("VIRTUAL_ENV", None)
    # Bytecode and copying (instead of linking from uv's cache) cost half a minute here and change
    # nothing about which files are installed.
    env["UV_COMPILE_BYTECODE"] = "0"
    env.pop("UV_LINK_MODE", None)
    env["UV_PROJECT_ENVIRONMENT"] = str(root / env["UV_PROJECT_ENVIRONMENT"].lstrip("/"))
    workdir = root
    for keyword, args in build.instructions:
        if keyword == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY" and not args.startswith("--from"):
            *sources, dest = args.split()
            for source in sources:
                copy_into_image(REPO / source, workdir / dest, into_directory=dest.endswith("/"))
        elif keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", args)
            result = subprocess.run(
                command,
                shell=True,
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, f"RUN {command}\n{result.stderr[-3000:]}"
    python = Path(env["UV_PROJECT_ENVIRONMENT"]) / "bin" / "python"
    modules = ", ".join(f"paved_{name}" for name in SERVICES)
    check = subprocess.run(
        [str(python), "-c", f"import {modules}, grpc_health, paved_kit; print('ok')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.stdout.strip() == "ok", check.stderr[-3000:]
    # Installed as wheels: nothing points back into the source tree the image leaves behind.
    site = subprocess.run(
        [str(python), "-c", "import paved_kit, os; print(os.path.dirname(paved_kit.__file__))"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert "site-packages" in site and "/src/" not in site
    # Dev tools stay out of the image.
    assert (
        subprocess.run([str(python), "-c", "import pytest"], capture_output=True, check=False).returncode != 0
    )
