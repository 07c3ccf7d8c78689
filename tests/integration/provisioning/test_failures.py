"""Step failures: retries with backoff, then compensation that leaves nothing behind; cancellation."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.longrunning import operations_pb2
from paved.catalog.v1 import catalog_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from provisioning_harness import HarnessFactory, steps

pytestmark = pytest.mark.timeout(90)


async def test_transient_failure_is_retried_and_the_operation_succeeds(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory()
    # UNAVAILABLE is already retried by the channel; ABORTED reaches the step and its backoff.
    h.peers.faults.fail("RegisterResources", 2, grpc.StatusCode.ABORTED)
    op = await h.wait((await h.provision()).name)
    assert op.done and not op.HasField("error"), op.error
    register = steps(op)["register_cost"]
    assert register.state == pb.STEP_STATE_SUCCEEDED
    assert register.attempts == 3
    assert h.peers.cost.tracked["orders"]
    assert len(h.repo.log()) == 1
    assert h.peers.alerting.rules_created == 3


async def test_persistent_failure_fails_the_operation_and_compensates(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(step_max_attempts=3)
    h.peers.faults.fail("RegisterResources", 100, grpc.StatusCode.INTERNAL)
    op = await h.wait((await h.provision()).name)
    assert op.done and op.HasField("error")
    assert "register_cost" in op.error.message and "INTERNAL" in op.error.message
    by_name = steps(op)
    assert by_name["register_cost"].state == pb.STEP_STATE_FAILED
    assert by_name["register_cost"].attempts == 3
    assert by_name["create_alerts"].state == pb.STEP_STATE_COMPENSATED
    assert by_name["gitops_commit"].state == pb.STEP_STATE_COMPENSATED
    assert by_name["register_catalog"].state == pb.STEP_STATE_COMPENSATED
    # Ran alongside register_cost (it needs only the commit) and left nothing to undo.
    assert by_name["publish_docs"].state == pb.STEP_STATE_SUCCEEDED

    # Nothing is left behind: manifests removed in a commit, alerts gone, catalog FAILED, quota released.
    log = h.repo.log()
    assert len(log) == 2 and "provisioning failed" in log[0][1]
    assert h.repo.list_files("services/payments/orders/production") == []
    assert "orders" not in h.peers.alerting.rules
    assert h.peers.catalog.services["services/orders"].state == catalog_pb2.Service.STATE_FAILED
    quota = await h.stub.GetQuota(pb.GetQuotaRequest(team="payments"))
    assert quota.used_services == 0

    # A retry starts clean and succeeds.
    h.peers.faults.fail("RegisterResources", 0)
    retry = await h.wait((await h.provision(request_id="retry")).name)
    assert not retry.HasField("error"), retry.error
    assert h.peers.catalog.services["services/orders"].state == catalog_pb2.Service.STATE_ACTIVE
    assert len(h.repo.list_files("services/payments/orders/production")) > 3


async def test_permanent_error_is_not_retried(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    h.peers.faults.fail("CreateDefaultAlerts", 1, grpc.StatusCode.INVALID_ARGUMENT)
    op = await h.wait((await h.provision()).name)
    assert steps(op)["create_alerts"].attempts == 1
    assert steps(op)["create_alerts"].state == pb.STEP_STATE_FAILED


async def test_cancel_stops_the_operation_and_undoes_its_steps(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    h.peers.faults.stall["CreateDefaultAlerts"] = 1.0
    op = await h.provision()
    await asyncio.wait_for(h.peers.faults.arrived["CreateDefaultAlerts"].wait(), 10)
    await h.ops.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name))
    op = await h.wait(op.name)
    assert op.done and op.error.code == grpc.StatusCode.CANCELLED.value[0]
    by_name = steps(op)
    assert by_name["gitops_commit"].state == pb.STEP_STATE_COMPENSATED
    assert by_name["create_alerts"].state == pb.STEP_STATE_COMPENSATED
    assert by_name["activate"].state == pb.STEP_STATE_CANCELLED
    assert "orders" not in h.peers.alerting.rules
    assert h.repo.list_files("services/payments/orders/production") == []
    # Done operations can be deleted; running ones cannot.
    await h.ops.DeleteOperation(operations_pb2.DeleteOperationRequest(name=op.name))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.ops.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
