"""Bad requests get a clear status naming the field and the rule, and change nothing."""

from __future__ import annotations

import grpc
import pytest
from google.longrunning import operations_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from paved.provisioning.v1 import provisioning_pb2 as pb
from provisioning_harness import HarnessFactory

pytestmark = pytest.mark.timeout(60)


def field_violations(exc: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(exc)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    for detail in status.details:
        if detail.Is(bad.DESCRIPTOR):
            detail.Unpack(bad)
    return [v.field for v in bad.field_violations]


async def test_operations_and_workflows_reject_bad_input(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.ops.GetOperation(operations_pb2.GetOperationRequest(name="nope"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(err.value) == ["name"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.ops.GetOperation(operations_pb2.GetOperationRequest(name="operations/unknown"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.ops.ListOperations(operations_pb2.ListOperationsRequest(filter="owner ~ 'x'"))
    assert field_violations(err.value) == ["filter"]

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.RunWorkflow(pb.RunWorkflowRequest(service="orders", workflow="explode"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == ["service", "workflow"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.RunWorkflow(
            pb.RunWorkflowRequest(service="services/ghost", workflow="deploy", version="1")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND

    op = await h.wait((await h.provision()).name)
    assert not op.HasField("error")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.provision(request_id="another")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.UpdateInstanceType(
            pb.UpdateInstanceTypeRequest(
                service="services/orders", resource="database", instance_type="c5.large"
            )
        )
    assert field_violations(err.value) == ["resource"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.UpdateInstanceType(
            pb.UpdateInstanceTypeRequest(
                service="services/orders", resource="compute", instance_type="c5 large!"
            )
        )
    assert field_violations(err.value) == ["instance_type"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.UpdateQuota(pb.UpdateQuotaRequest(quota=pb.Quota(team="payments", max_services=-1)))
    assert field_violations(err.value) == ["quota.max_services"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.GetDeliveryMetrics(
            pb.GetDeliveryMetricsRequest(
                start_time=Timestamp(seconds=2_000_000_000), end_time=Timestamp(seconds=1)
            )
        )
    assert field_violations(err.value) == ["start_time"]
    # Nothing changed: still one operation and one commit.
    listed = await h.ops.ListOperations(operations_pb2.ListOperationsRequest())
    assert len(listed.operations) == 1 and len(h.repo.log()) == 1


async def test_operations_list_pages_and_filters(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(worker=False)
    for name in ("a-svc", "b-svc", "c-svc"):
        await h.provision(service=name)
    first = await h.ops.ListOperations(operations_pb2.ListOperationsRequest(page_size=2))
    assert len(first.operations) == 2 and first.next_page_token
    second = await h.ops.ListOperations(
        operations_pb2.ListOperationsRequest(page_size=2, page_token=first.next_page_token)
    )
    assert len(second.operations) == 1 and not second.next_page_token
    names = {op.name for op in [*first.operations, *second.operations]}
    assert len(names) == 3
    only = await h.ops.ListOperations(operations_pb2.ListOperationsRequest(filter='service = "b-svc"'))
    assert len(only.operations) == 1
    running = await h.ops.ListOperations(operations_pb2.ListOperationsRequest(filter="done = true"))
    assert not running.operations
