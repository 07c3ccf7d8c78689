"""GitOps commits survive ``kill -9`` at any instant.

A real worker process (``python -m paved_provisioning worker``) commits for a queue of operations and is
killed with SIGKILL while it writes a git file (a commit's pack, written to ``tmp_pack_*`` and then
renamed; its index and the ref, each written to ``<file>.lock`` and then renamed): the k-th write of each
run, k spread evenly over every write of a commit and beyond, so the kills cover a commit's whole
duration. Before each run the queue is topped up so the worker cannot run out of operations before its
kill point. Another worker resumes after the lease expires. In the end every accepted operation succeeded,
its service is ACTIVE, each has exactly one commit, no lock file or temporary pack is left and
``git fsck --strict`` is clean.

``PAVED_GITOPS_KILLS`` sets the kills per database (default 12).
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from google.longrunning import operations_pb2
from paved.catalog.v1 import catalog_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_provisioning.gitops import OPERATION_TRAILER, GitOpsRepository
from provisioning_harness import Harness, HarnessFactory, steps

KILLS = int(os.environ.get("PAVED_GITOPS_KILLS", "12"))
# A commit writes three files (its pack, the pack's index, the ref); k goes to a third commit, so some
# kills also land between commits and in the steps after them.
WRITES_PER_COMMIT = 3
MAX_WRITE_INDEX = 7
LEASE_SECONDS = 1.0
# Every git file the worker writes pauses before it takes its name (a lock file, a temporary pack) and
# reports itself on stderr.
WORKER = textwrap.dedent(
    """
    import os, runpy, sys, time
    import dulwich.file

    close = dulwich.file._GitFile.close
    count = 0

    def slow_close(self):
        global count
        count += 1
        name = os.fsdecode(self._filename)
        kind = "ref" if "/refs/" in name else "object" if "/objects/" in name else "other"
        print(f"write {count} {kind}", file=sys.stderr, flush=True)
        time.sleep(0.01)
        close(self)

    dulwich.file._GitFile.close = slow_close
    replace = os.replace

    def slow_replace(source, target, *args, **kwargs):
        global count
        if os.path.basename(os.fsdecode(source)).startswith("tmp_pack_"):
            count += 1
            print(f"write {count} pack", file=sys.stderr, flush=True)
            time.sleep(0.01)
        return replace(source, target, *args, **kwargs)

    os.replace = slow_replace
    sys.argv = ["paved_provisioning", "worker"]
    runpy.run_module("paved_provisioning", run_name="__main__", alter_sys=True)
    """
)

pytestmark = pytest.mark.timeout(600)


def worker_env(h: Harness) -> dict[str, str]:
    s = h.settings
    return {
        **os.environ,
        "PAVED_PROVISIONING_DATABASE_URL": s.database_url,
        "PAVED_PROVISIONING_GITOPS_REPOSITORY": str(s.gitops_repository),
        "PAVED_PROVISIONING_CATALOG_ADDRESS": s.catalog_address,
        "PAVED_PROVISIONING_ALERTING_ADDRESS": s.alerting_address,
        "PAVED_PROVISIONING_COST_ADDRESS": s.cost_address,
        "PAVED_PROVISIONING_WORKER_CONCURRENCY": str(s.worker_concurrency),
        "PAVED_PROVISIONING_LEASE_SECONDS": str(LEASE_SECONDS),
        "PAVED_PROVISIONING_HEARTBEAT_SECONDS": "0.3",
        "PAVED_PROVISIONING_POLL_INTERVAL_SECONDS": "0.05",
        "PAVED_PROVISIONING_STEP_BACKOFF_SECONDS": "0.05",
        "PAVED_PROVISIONING_STEP_BACKOFF_MAX_SECONDS": "0.2",
        "PAVED_PROVISIONING_LOG_FORMAT": "json",
    }


async def spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def kill_at_write(
    worker: asyncio.subprocess.Process, index: int, within: float, output: collections.deque[str]
) -> str | None:
    """SIGKILL the worker while its ``index``-th git file is still a lock; what it was writing, or None
    when it did not get that far in time (``index`` 0: never). The worker's last lines of output (its
    log and the writes it reported) are kept in ``output``."""
    assert worker.stdout is not None
    try:
        async with asyncio.timeout(within):
            while line := (await worker.stdout.readline()).decode():
                output.append(line.rstrip())
                parts = line.split()
                if parts[:1] == ["write"] and int(parts[1]) == index:
                    os.kill(worker.pid, signal.SIGKILL)
                    return parts[2]
    except TimeoutError:
        return None
    finally:
        if worker.returncode is None:
            worker.kill()
        await worker.wait()
    return None


async def top_up(h: Harness, operations: list[operations_pb2.Operation]) -> None:
    """Submit operations until enough are unfinished that a worker cannot run out before its last kill
    point: it finishes at most the commits its first ``MAX_WRITE_INDEX`` writes complete, each of at
    most ``worker_concurrency`` operations (a worker groups the commits of the operations it runs)."""
    unfinished = 0
    for op in operations:
        current = await h.ops.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
        unfinished += not current.done
    wanted = (MAX_WRITE_INDEX // WRITES_PER_COMMIT + 1) * h.settings.worker_concurrency + 1
    for _ in range(wanted - unfinished):
        i = len(operations)
        operations.append(await h.provision(service=f"svc{i}", request_id=f"kill-{i}"))


def fsck(repo: GitOpsRepository) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(repo.path), "fsck", "--full", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
        check=False,
    )


async def test_every_operation_ends_active_exactly_once_whenever_the_writer_is_killed(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(worker=False, lease_seconds=LEASE_SECONDS, heartbeat_seconds=0.3)
    env = worker_env(h)
    operations: list[operations_pb2.Operation] = []
    outcomes: collections.Counter[str] = collections.Counter()
    stuck: collections.deque[str] = collections.deque(maxlen=60)
    # Kill points spread evenly over 1..MAX_WRITE_INDEX, so they cover a whole commit and beyond.
    for kill in range(KILLS):
        index = 1 + round(kill * (MAX_WRITE_INDEX - 1) / max(KILLS - 1, 1))
        await top_up(h, operations)
        stuck.clear()
        killed_in = await kill_at_write(await spawn(env), index, within=60, output=stuck)
        outcomes[f"killed writing {killed_in}" if killed_in else "not reached"] += 1
        if killed_in is None:
            break
        # The dead worker's lease expires before another may take its operation.
        await asyncio.sleep(LEASE_SECONDS)

    final = await spawn(env)
    # Its output is read (a pipe nobody reads would stop it once full) and shown when the test fails.
    output: collections.deque[str] = collections.deque(maxlen=200)
    reading = asyncio.create_task(kill_at_write(final, 0, within=600, output=output))
    try:
        done = [await h.wait(op.name, within=120) for op in operations]
    finally:
        final.kill()
        await reading
        print(f"\nkills: {sum(outcomes.values())} {dict(outcomes)}; operations: {len(operations)}")
        print("the last worker's output:", *output, sep="\n")

    assert outcomes["not reached"] == 0, (outcomes, "output of the worker that did not get there:", *stuck)
    for op in done:
        assert op.done and not op.HasField("error"), (op.name, op.error)
        unfinished = {
            name: (pb.StepState.Name(step.state), step.attempts, step.detail)
            for name, step in steps(op).items()
            if step.state != pb.STEP_STATE_SUCCEEDED
        }
        assert not unfinished, (op.name, unfinished)
    log = h.repo.log()
    for op in operations:
        operation_id = op.name.split("/")[1]
        assert sum(f"{OPERATION_TRAILER}: {operation_id}\n" in message for _, message in log) == 1
    services = h.peers.catalog.services
    assert len(services) == len(operations)
    for name, service in services.items():
        assert service.state == catalog_pb2.Service.STATE_ACTIVE, (name, service.state)
    leftovers = [p for p in h.repo.path.rglob("*.lock") if p.name != "paved.lock"]
    leftovers += h.repo.path.glob("objects/pack/tmp_pack_*")
    assert leftovers == [], leftovers
    checked = fsck(h.repo)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
