"""A worker process killed with SIGKILL mid-operation: its lease expires, another worker resumes at the
first unfinished step, and every effect happens exactly once (one commit, one alert set)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from google.longrunning import operations_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_provisioning import manifests, store
from paved_provisioning.gitops import OPERATION_TRAILER
from provisioning_harness import Harness, HarnessFactory, steps
from provisioning_plans import plan_dict

pytestmark = pytest.mark.timeout(120)


def worker_env(h: Harness, lease_seconds: float) -> dict[str, str]:
    s = h.settings
    return {
        **os.environ,
        "PAVED_PROVISIONING_DATABASE_URL": s.database_url,
        "PAVED_PROVISIONING_GITOPS_REPOSITORY": str(s.gitops_repository),
        "PAVED_PROVISIONING_CATALOG_ADDRESS": s.catalog_address,
        "PAVED_PROVISIONING_ALERTING_ADDRESS": s.alerting_address,
        "PAVED_PROVISIONING_COST_ADDRESS": s.cost_address,
        "PAVED_PROVISIONING_LEASE_SECONDS": str(lease_seconds),
        "PAVED_PROVISIONING_HEARTBEAT_SECONDS": "0.3",
        "PAVED_PROVISIONING_POLL_INTERVAL_SECONDS": "0.05",
        "PAVED_PROVISIONING_LOG_FORMAT": "json",
    }


async def spawn_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paved_provisioning",
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_killed_worker_is_resumed_with_exactly_once_effects(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(worker=False, lease_seconds=1.5, heartbeat_seconds=0.3)
    env = worker_env(h, 1.5)
    # The alerting call stalls, so the worker is caught between two steps' effects when it is killed.
    h.peers.faults.stall["CreateDefaultAlerts"] = 30.0
    op = await h.provision(request_id="kill-me")
    worker = await spawn_worker(env)
    try:
        await asyncio.wait_for(h.peers.faults.arrived["CreateDefaultAlerts"].wait(), 60)
        before = steps(await h.ops.GetOperation(operations_pb2.GetOperationRequest(name=op.name)))
        assert before["gitops_commit"].state == pb.STEP_STATE_SUCCEEDED
        assert before["create_alerts"].state == pb.STEP_STATE_RUNNING
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), 10)
    finally:
        if worker.returncode is None:
            worker.kill()
            await asyncio.wait_for(worker.wait(), 10)
    del h.peers.faults.stall["CreateDefaultAlerts"]

    # Another worker picks the operation up once the dead worker's lease has expired.
    h.start_worker()
    op = await h.wait(op.name, within=60)
    assert op.done and not op.HasField("error"), op.error
    by_name = steps(op)
    assert by_name["register_catalog"].attempts == 1
    assert by_name["gitops_commit"].attempts == 1
    assert by_name["create_alerts"].attempts == 2
    assert all(step.state == pb.STEP_STATE_SUCCEEDED for step in by_name.values())

    operation_id = op.name.split("/")[1]
    commits = [m for _, m in h.repo.log() if f"{OPERATION_TRAILER}: {operation_id}" in m]
    assert len(commits) == 1
    assert h.peers.alerting.rules_created == 3
    assert h.peers.alerting.calls["CreateDefaultAlerts"] == 2
    assert h.peers.catalog.calls["CreateService"] == 1
    assert len(h.peers.catalog.services) == 1


async def test_retried_commit_step_finds_its_earlier_commit(harness_factory: HarnessFactory) -> None:
    """A worker that died after committing but before recording the step must not commit again."""
    h = await harness_factory(worker=False)
    op = await h.provision()
    operation_id = op.name.split("/")[1]
    p = plan_dict()
    # The commit the dead worker made before it could record its step.
    files = manifests.render_files(p, manifests.SiteConfig())
    h.repo.commit_directory(
        manifests.service_path(p), files, message="earlier", operation_id=operation_id, step="gitops_commit"
    )
    async with h.parts.provisioner.sessions() as session, session.begin():
        await store.update_step(
            session=session, operation_id=operation_id, position=1, state="running", attempts=1
        )
    h.start_worker()
    op = await h.wait(op.name)
    assert not op.HasField("error"), op.error
    assert steps(op)["gitops_commit"].attempts == 2
    assert "found earlier commit" in steps(op)["gitops_commit"].detail
    assert len(h.repo.log()) == 1


async def test_stopped_worker_hands_its_operation_back_at_once(harness_factory: HarnessFactory) -> None:
    """SIGTERM: the worker releases its leases, so another worker resumes long before they would expire."""
    h = await harness_factory(worker=False, lease_seconds=60.0)
    h.peers.faults.stall["CreateDefaultAlerts"] = 30.0
    op = await h.provision()
    worker = await spawn_worker(worker_env(h, 60.0))
    try:
        await asyncio.wait_for(h.peers.faults.arrived["CreateDefaultAlerts"].wait(), 60)
        worker.terminate()
        assert await asyncio.wait_for(worker.wait(), 20) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await asyncio.wait_for(worker.wait(), 10)
    del h.peers.faults.stall["CreateDefaultAlerts"]
    h.start_worker()
    op = await h.wait(op.name, within=20)
    assert op.done and not op.HasField("error"), op.error
    assert steps(op)["create_alerts"].attempts == 2
    assert h.peers.alerting.rules_created == 3
