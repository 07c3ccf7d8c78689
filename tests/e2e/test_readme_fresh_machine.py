"""The root README, followed as a newcomer would on a fresh machine: a copy of the repository, an empty HOME,
the system PATH (/usr/bin:/bin, the distribution's python3, no uv) and a new shell for every block.

`make install` and `make help` run as they are; `make run` starts the suite (on free ports, through
UP_ARGS as the README says) and the "First steps" block runs verbatim against it; closing the "terminal"
(SIGHUP to make's process group) must leave no service behind. Only package-registry settings of this
machine (CA bundle, proxies, download caches) pass into the clean environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SYSTEM_PATH = "/usr/bin:/bin"
PASSED_THROUGH = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "PIP_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)

pytestmark = pytest.mark.timeout(1200)


def blocks(heading: str) -> list[str]:
    """The ```sh blocks of one README section."""
    section = README.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports, below Linux's ephemeral range (32768+) so that no
    outgoing connection of another test takes one of them between this check and `paved up`."""
    for first in random.sample(range(20000, 32000 - count), 200):
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise AssertionError("no run of free ports below 32000")


def uv_cache() -> str | None:
    uv = shutil.which("uv")
    if uv is None:
        return None
    return subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of the repository's files and a clean environment for it."""
    if not Path("/usr/bin/python3").exists():
        pytest.fail("needs the distribution's /usr/bin/python3 (with venv), as the README says")
    copy = tmp_path_factory.mktemp("fresh") / "paved"
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    home = tmp_path_factory.mktemp("home")
    env = {"PATH": SYSTEM_PATH, "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb"}
    env.update({key: os.environ[key] for key in PASSED_THROUGH if os.environ.get(key)})
    cache = os.environ.get("UV_CACHE_DIR") or uv_cache()
    if cache:
        env["UV_CACHE_DIR"] = cache  # a download cache only: saves fetching every wheel again
    yield copy, env


def shell(script: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"$ {script}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_the_readme_works_verbatim_on_a_fresh_machine(fresh: tuple[Path, dict[str, str]]) -> None:
    repo, env = fresh
    assert "make run" in blocks("Two commands")[0] and "make test" in blocks("Two commands")[0]

    # What `make run` and `make test` do before their long-running part, on a Python that refuses pip.
    shell("make install", repo, env)
    assert (repo / ".venv" / "bin" / "paved").exists()
    assert not (Path(env["HOME"]) / ".local" / "bin" / "uv").exists(), "nothing is installed into HOME"
    listed = shell("make help", repo, env)
    assert "make run" in listed and "make test" in listed

    base = free_ports(6)
    gateway = base + 5
    up = subprocess.Popen(
        ["make", "run", f"UP_ARGS=--base-port {base} --gateway-port {gateway}"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own "terminal" session, closed below with SIGHUP
    )
    try:
        assert up.stdout is not None
        seen: list[str] = []
        for line in up.stdout:
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        else:
            pytest.fail("make run did not come up:\n" + "".join(seen))

        steps = blocks("First steps after `make run`")[0]
        assert ".venv/bin/paved create" in steps
        output = shell(steps, repo, {**env, "PAVED_URL": f"http://127.0.0.1:{gateway}"})
        assert "web-service" in output and "succeeded" in output and "checkout" in output

        pids = [json.loads(path.read_text())["pid"] for path in (repo / ".paved" / "run").glob("*.pid")]
        assert len(pids) == 6
    finally:
        os.killpg(up.pid, signal.SIGHUP)  # the terminal closes
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.2)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()], "services outlived the terminal"
    assert (repo / ".paved" / "gitops.git").is_dir()
