"""Every RPC of every service, called over real channels on the running suite (five real processes)
with requests generated from the proto descriptors and biased towards hostile values: whatever the
input, no call ends INTERNAL, UNKNOWN or DATA_LOSS, and none hangs past its deadline.

``PAVED_FUZZ_EXAMPLES`` sets the examples per RPC (default 40), ``PAVED_FUZZ_DATABASE=postgres`` runs
the services on PostgreSQL; the run prints its call and status counts.
"""

from __future__ import annotations

import collections
import math
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from paved.alerting.v1 import alerting_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved.policy.v1 import policy_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.grpc_errors import error_details

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[2] / "e2e")]
import e2e_suite  # noqa: E402
from e2e_suite import Suite, create_databases, drop_databases, start_suite  # noqa: E402
from grpc_fuzzing import requests  # noqa: E402

# Six Python processes start slowly on a busy two-core machine.
e2e_suite.START_TIMEOUT = 150.0
EXAMPLES = int(os.environ.get("PAVED_FUZZ_EXAMPLES", "40"))
CALL_TIMEOUT = 20.0
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS}
SERVED_BY = {
    "catalog": [catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]],
    "provisioning": [
        provisioning_pb2.DESCRIPTOR.services_by_name["ProvisioningService"],
        operations_pb2.DESCRIPTOR.services_by_name["Operations"],
    ],
    "policy": [policy_pb2.DESCRIPTOR.services_by_name["PolicyService"]],
    "cost": [cost_pb2.DESCRIPTOR.services_by_name["CostService"]],
    "alerting": [alerting_pb2.DESCRIPTOR.services_by_name["AlertingService"]],
}
# WaitOperation waits as long as it was asked to (capped by the server); its deadline is an answer.
MAY_RUN_OUT_OF_TIME = {"/google.longrunning.Operations/WaitOperation"}

pytestmark = pytest.mark.timeout(900)


@dataclass
class Rpc:
    address: str
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    # PAVED_FUZZ_DATABASE=postgres runs the services on PostgreSQL (PAVED_TEST_DATABASE_URL's server,
    # one fresh database each); the default is SQLite files, as `paved up` uses.
    server_url = os.environ.get(
        "PAVED_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    on_postgres = os.environ.get("PAVED_FUZZ_DATABASE", "sqlite") == "postgres"
    database_urls = create_databases(server_url, f"paved_fuzz_{uuid.uuid4().hex[:8]}") if on_postgres else {}
    running = start_suite(
        tmp_path_factory.mktemp("paved-fuzz"),
        database_urls=database_urls,
        extra_env={"provisioning": {"PAVED_PROVISIONING_POLL_INTERVAL_SECONDS": "0.05"}},
    )
    yield running
    running.stop_all()
    if database_urls:
        drop_databases(server_url, database_urls)


def every_rpc(suite: Suite) -> list[Rpc]:
    return [
        Rpc(suite.address(name), method)
        for name, services in SERVED_BY.items()
        for service in services
        for method in service.methods
    ]


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def call(channel: grpc.Channel, rpc: Rpc, requests: list[Message]) -> grpc.StatusCode:
    response = GetMessageClass(rpc.method.output_type)
    kw = {"request_serializer": _serialize, "response_deserializer": response.FromString}
    try:
        if rpc.method.client_streaming:
            channel.stream_unary(rpc.path, **kw)(iter(requests), timeout=CALL_TIMEOUT)
        else:
            channel.unary_unary(rpc.path, **kw)(requests[0], timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def fuzz_rpc(channel: grpc.Channel, rpc: Rpc, statuses: Counter[str], failures: list[str]) -> None:
    """Call ``rpc`` with EXAMPLES generated requests, counting statuses and keeping the server faults."""
    request_type = rpc.method.input_type
    batch = (
        st.lists(requests(request_type), min_size=1, max_size=3)
        if rpc.method.client_streaming
        else requests(request_type).map(lambda m: [m])
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(batch=batch)
    def fuzz(batch: list[Message]) -> None:
        code = call(channel, rpc, batch)
        statuses[code.name] += 1
        timed_out = code == grpc.StatusCode.DEADLINE_EXCEEDED and rpc.path not in MAY_RUN_OUT_OF_TIME
        if code in SERVER_FAULTS or timed_out:
            failures.append(f"{code.name}: {[str(r)[:800] for r in batch]}")

    fuzz()


def fuzz_everything(rpcs: list[Rpc]) -> tuple[Counter[str], dict[str, list[str]]]:
    statuses: Counter[str] = collections.Counter()
    failures: dict[str, list[str]] = collections.defaultdict(list)
    channels = {address: grpc.insecure_channel(address) for address in {rpc.address for rpc in rpcs}}
    try:
        for rpc in rpcs:
            fuzz_rpc(channels[rpc.address], rpc, statuses, failures[rpc.path])
    finally:
        for channel in channels.values():
            channel.close()
    return statuses, {path: found for path, found in failures.items() if found}


def test_no_rpc_fails_inside_whatever_the_input(suite: Suite) -> None:
    rpcs = every_rpc(suite)
    assert len(rpcs) >= 70, [rpc.path for rpc in rpcs]
    started = time.monotonic()
    statuses, failures = fuzz_everything(rpcs)
    elapsed = time.monotonic() - started
    print(
        f"\ngRPC fuzz: {sum(statuses.values())} calls over {len(rpcs)} RPCs in {elapsed:.0f} s; "
        f"statuses {dict(statuses.most_common())}"
    )
    report = "\n".join(f"{path} ({len(found)}x): {found[0]}" for path, found in sorted(failures.items()))
    assert not failures, f"{len(failures)} RPCs failed inside:\n{report}"


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


def laughs(levels: int = 6, fan_out: int = 10) -> str:
    lines = ["  a: &a [" + ", ".join(['"lol"'] * fan_out) + "]"]
    for previous, name in zip("abcdefghi", "bcdefghij"[:levels], strict=False):
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * fan_out) + "]")
    return "apiVersion: platform.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: lol\nspec:\n" + "\n".join(
        lines
    )


def deep_render_request() -> catalog_pb2.RenderTemplateRequest:
    """Parameters nested 60 levels (built in place: copying them would re-parse past the depth limit)."""
    request = catalog_pb2.RenderTemplateRequest(template="templates/web-service")
    request.parameters.update(nested(60))
    return request


FAR_FUTURE = timestamp_pb2.Timestamp(seconds=253_402_300_799)
YEAR_ONE = timestamp_pb2.Timestamp(seconds=-62_135_596_800)
BEYOND = timestamp_pb2.Timestamp(seconds=2**62)
NON_FINITE = {"size": math.nan, "replicas": math.inf, "cost": float("1e400")}
# Each case of the attack report: (service, method, request, the field the answer must name).
REPORTED: list[tuple[str, str, Message, str]] = [
    ("catalog", "ListServices", catalog_pb2.ListServicesRequest(filter='team = "a\x00"'), "filter"),
    ("policy", "ListPolicies", policy_pb2.ListPoliciesRequest(filter='name = "\x00"'), "filter"),
    ("catalog", "ValidateTemplate", catalog_pb2.ValidateTemplateRequest(document="kind: \x00"), "document"),
    ("catalog", "ValidateTemplate", catalog_pb2.ValidateTemplateRequest(document="a: \uffff"), "document"),
    (
        "provisioning",
        "GetDeliveryMetrics",
        provisioning_pb2.GetDeliveryMetricsRequest(team="payments", end_time=BEYOND),
        "end_time",
    ),
    (
        "provisioning",
        "GetDeliveryMetrics",
        provisioning_pb2.GetDeliveryMetricsRequest(team="payments", end_time=YEAR_ONE),
        "end_time",
    ),
    (
        "policy",
        "CreateException",
        policy_pb2.CreateExceptionRequest(
            parent="policies/required_tags",
            exception=policy_pb2.PolicyException(
                resource_pattern="*", team="payments", approved_by="a", reason="r", expire_time=BEYOND
            ),
        ),
        "exception.expire_time",
    ),
    (
        "policy",
        "Evaluate",
        policy_pb2.EvaluateRequest(
            resources=[common_pb2.Resource(name="db", type="database")],
            context=policy_pb2.EvaluationContext(team="payments", time=BEYOND),
        ),
        "context.time",
    ),
    (
        "policy",
        "Evaluate",
        policy_pb2.EvaluateRequest(
            resources=[common_pb2.Resource(name="db", type="database", properties=struct(NON_FINITE))],
            context=policy_pb2.EvaluationContext(team="payments"),
        ),
        "resources[0].properties.size",
    ),
    (
        "policy",
        "DryRunPolicies",
        policy_pb2.DryRunPoliciesRequest(
            resources=[common_pb2.Resource(name="db", type="database")],
            context=policy_pb2.EvaluationContext(team="payments", time=BEYOND),
        ),
        "context.time",
    ),
    ("cost", "GetPlatformRoi", cost_pb2.GetPlatformRoiRequest(end_time=BEYOND), "end_time"),
    ("cost", "GetPlatformRoi", cost_pb2.GetPlatformRoiRequest(end_time=FAR_FUTURE), "end_time"),
    ("cost", "GetPlatformRoi", cost_pb2.GetPlatformRoiRequest(end_time=YEAR_ONE), "end_time"),
    ("cost", "GetPlatformRoi", cost_pb2.GetPlatformRoiRequest(services_created=2**62), "services_created"),
    (
        "provisioning",
        "WaitOperation",
        operations_pb2.WaitOperationRequest(
            name="operations/x", timeout=duration_pb2.Duration(seconds=2**63 - 1)
        ),
        "timeout",
    ),
    (
        "catalog",
        "RenderTemplate",
        deep_render_request(),
        "request",
    ),
]


@pytest.mark.parametrize(
    ("service", "method", "request_message", "field"),
    REPORTED,
    ids=[f"{method}-{field}-{index}" for index, (_, method, _, field) in enumerate(REPORTED)],
)
def test_each_reported_input_is_invalid_argument_naming_its_field(
    suite: Suite, service: str, method: str, request_message: Message, field: str
) -> None:
    [rpc] = [r for r in every_rpc(suite) if r.method.name == method and r.address == suite.address(service)]
    response = GetMessageClass(rpc.method.output_type)
    with grpc.insecure_channel(rpc.address) as channel:
        stub = channel.unary_unary(
            rpc.path, request_serializer=_serialize, response_deserializer=response.FromString
        )
        with pytest.raises(grpc.RpcError) as error:
            stub(request_message, timeout=CALL_TIMEOUT)
    details = error_details(error.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT, (details.code, details.message)
    assert field in [v.field for v in details.field_violations], details.field_violations


def test_billion_laughs_is_answered_at_once_and_other_calls_are_not_held_up(suite: Suite) -> None:
    with grpc.insecure_channel(suite.address("catalog")) as channel:
        validate = channel.unary_unary(
            "/paved.catalog.v1.CatalogService/ValidateTemplate",
            request_serializer=_serialize,
            response_deserializer=catalog_pb2.ValidateTemplateResponse.FromString,
        )
        started = time.monotonic()
        answer = validate(catalog_pb2.ValidateTemplateRequest(document=laughs()), timeout=CALL_TIMEOUT)
        elapsed = time.monotonic() - started
    assert not answer.valid
    assert any("anchors and aliases are not allowed" in v.message for v in answer.violations), answer
    # One round trip on a busy machine; the expansion took 21.5 s before.
    assert elapsed < 1.0, elapsed
