"""Automatic rightsizing against the REAL catalog, alerting, cost and policy: an opted-in service with nine
days of usage at a tenth of its CPU request gets its recommendation applied by the loop once its learning
period and the guardrail policies allow it, through the canaried, baked optimize_resources operation; the
next pass applies nothing (one change per period, or nothing left to change) and says why, but a memory
increase goes out at once; a service that
did not opt in is never touched."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from google.longrunning import operations_pb2
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2_grpc
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_provisioning import steps as operation_kinds
from provisioning_harness import HarnessFactory, committed_document, metadata, steps
from provisioning_peers import RealPeers, provision_checkout, start_real_peers

pytestmark = [
    pytest.mark.timeout(300),
]
MIB = 1024**2
BASE = "services/payments/checkout/staging"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture
async def real_peers(tmp_path: Path) -> AsyncIterator[RealPeers]:
    (tmp_path / "peers").mkdir()
    port = free_port()
    # Cost reads the usage history from alerting, as in the suite.
    peers = await start_real_peers(
        tmp_path / "peers",
        also=("policy",),
        alerting={"port": port},
        cost={"alerting_address": f"127.0.0.1:{port}"},
    )
    yield peers
    await peers.stop()


def usage(days: float, cpu: float, memory: float) -> Iterator[alerting_pb2.IngestSamplesRequest]:
    end = int(time.time()) // 60 * 60
    batch = []
    for t in range(end - int(days * 86400), end, 60):
        for metric, value in (("cpu_usage", cpu), ("memory_working_set", memory)):
            batch.append(
                alerting_pb2.MetricSample(
                    service="checkout",
                    environment="staging",
                    metric=metric,
                    value=value,
                    time=timestamp_pb2.Timestamp(seconds=t),
                )
            )
        if len(batch) >= 4000:
            yield alerting_pb2.IngestSamplesRequest(samples=batch)
            batch = []
    yield alerting_pb2.IngestSamplesRequest(samples=batch)


def container_resources(h: Any) -> dict[str, Any]:
    deployment = committed_document(h, BASE, "Deployment", "checkout")
    return dict(deployment["spec"]["template"]["spec"]["containers"][0]["resources"])


async def optimizations(h: Any) -> list[operations_pb2.Operation]:
    reply = await h.ops.ListOperations(operations_pb2.ListOperationsRequest(name="operations", page_size=50))
    return [op for op in reply.operations if metadata(op).kind == operation_kinds.OPTIMIZE_RESOURCES]


async def test_an_opted_in_service_is_rightsized_by_the_loop_once_per_period(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: Any
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
        policy_address=real_peers.address("policy"),
        optimization_bake_seconds=2.0,
        optimization_bake_poll_seconds=0.2,
        auto_optimize_services=["checkout", "never-provisioned"],
        auto_optimize_learning_days=8.5,
    )
    catalog = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(real_peers.address("catalog")))
    alerting = alerting_pb2_grpc.AlertingServiceStub(grpc_channel_factory(real_peers.address("alerting")))
    provisioned = await provision_checkout(h, catalog, "auto-provision")
    assert not provisioned.HasField("error"), provisioned.error
    assert container_resources(h)["requests"] == {"cpu": "250m", "memory": "256Mi"}

    # 1. Nine days at a tenth of the CPU request; cost recommends the cut, but this installation's learning
    # period is longer than the history (the evidence covers at most 8 days), so the loop withholds it.
    ingested = await alerting.IngestSamples(usage(9, 0.025, 60 * MIB), timeout=120)
    assert ingested.rejected == 0 and ingested.history_skipped == 0
    first = {o.service: o for o in await h.parts.auto_optimizer.run_once()}
    assert first["never-provisioned"].skipped == "services/never-provisioned is not provisioned"
    assert not first["checkout"].operation
    assert "decreases wait for 8.5 days of history (have 8.0)" in first["checkout"].skipped, first
    assert await optimizations(h) == []

    # 2. With the default learning period (7 days) the cut may go out, but a guardrail (an ordinary policy
    # on resources of type `optimization`, as for changes applied by hand) denies a cut above 30 %.
    h.parts.auto_optimizer.rules = replace(h.parts.auto_optimizer.rules, learning_days=7.0)
    policies = policy_pb2_grpc.PolicyServiceStub(grpc_channel_factory(real_peers.address("policy")))
    guardrail = await policies.CreatePolicy(
        policy_pb2.CreatePolicyRequest(
            policy_id="auto-cpu-cut",
            policy=policy_pb2.Policy(
                description="CPU cut at most 30 % per step",
                severity=policy_pb2.SEVERITY_ERROR,
                enforcement_level=policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY,
                scope=policy_pb2.Scope(resource_types=["optimization"], teams=["payments"]),
                expression="resource.properties.cpu_cut <= 0.3",
                message="cuts CPU by more than 30 % in one step",
                enabled=True,
            ),
        )
    )
    guarded = {o.service: o for o in await h.parts.auto_optimizer.run_once()}
    assert not guarded["checkout"].operation
    assert guarded["checkout"].skipped.startswith("DENY by policy"), guarded["checkout"]
    assert "policies/auto-cpu-cut: cuts CPU by more than 30 % in one step" in guarded["checkout"].skipped
    assert await optimizations(h) == []
    await policies.DeletePolicy(policy_pb2.DeletePolicyRequest(name=guardrail.name))

    # 3. Without the guardrail the loop applies the cut: canary, bake, promotion.
    second = {o.service: o for o in await h.parts.auto_optimizer.run_once()}
    applied = second["checkout"]
    assert applied.operation, applied
    assert applied.decision is not None and "cpu_request" in applied.decision.change
    done = await h.wait(applied.operation, within=60)
    assert not done.HasField("error"), (done.error, steps(done))
    assert [steps(done)[s].state for s in ("deploy_canary", "bake", "promote")] == [
        pb.STEP_STATE_SUCCEEDED
    ] * 3
    cut = applied.decision.change["cpu_request"]
    assert container_resources(h)["requests"]["cpu"] == cut
    assert int(cut.removesuffix("m")) < 250
    assert metadata(done).requester == "paved-auto-optimizer"
    log = [message for _, message in h.repo.log(limit=10)]
    assert any(m.startswith("Optimize checkout resources") for m in log)

    # 4. The next pass starts nothing: one decrease per 24 h (or nothing left worth changing), said so.
    third = {o.service: o for o in await h.parts.auto_optimizer.run_once()}
    assert not third["checkout"].operation
    assert third["checkout"].skipped
    assert len(await optimizations(h)) == 1

    # 5. The working set jumps to 400 MiB: the memory increase goes out at once, within the period.
    spike = alerting_pb2.MetricSample(
        service="checkout",
        environment="staging",
        metric="memory_working_set",
        value=400 * MIB,
        time=timestamp_pb2.Timestamp(seconds=int(time.time())),
    )
    grown = await alerting.IngestSamples(iter([alerting_pb2.IngestSamplesRequest(samples=[spike])]))
    assert grown.rejected == 0 and grown.history_skipped == 0
    fifth = {o.service: o for o in await h.parts.auto_optimizer.run_once()}
    raised = fifth["checkout"]
    assert raised.operation and raised.decision is not None, raised
    assert raised.decision.increases and raised.decision.increases[0].startswith("memory_request to ")
    assert not raised.decision.decreases  # a further cut waits for the period
    done = await h.wait(raised.operation, within=60)
    assert not done.HasField("error"), (done.error, steps(done))
    memory = raised.decision.change["memory_request"]
    assert container_resources(h)["requests"]["memory"] == memory
    assert int(memory.removesuffix("Mi")) >= 420  # the peak plus headroom
    assert len(await optimizations(h)) == 2


async def test_a_service_that_did_not_opt_in_is_left_alone(
    harness_factory: HarnessFactory, real_peers: RealPeers
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
    )
    assert h.settings.auto_optimize_services == []
    assert await h.parts.auto_optimizer.run_once() == []
