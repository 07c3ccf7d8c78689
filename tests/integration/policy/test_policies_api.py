"""Policy CRUD over real gRPC on SQLite and PostgreSQL: built-ins, bad CEL refused, masks, etags, lists."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from paved.policy.v1 import policy_pb2
from paved_kit.grpc_errors import error_details

PolicyHarness = Any  # conftest's harness: .stub and .clock
HARD = policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY
SOFT = policy_pb2.ENFORCEMENT_LEVEL_SOFT_MANDATORY


def new_policy(expression: str = "resource.properties.replicas <= 4", **kwargs: object) -> policy_pb2.Policy:
    values: dict[str, object] = {
        "description": "keep replicas small",
        "severity": policy_pb2.SEVERITY_ERROR,
        "enforcement_level": SOFT,
        "expression": expression,
        "message": "{resource.name} has {resource.properties.replicas} replicas",
        "enabled": True,
    }
    values.update(kwargs)
    return policy_pb2.Policy(**values)  # type: ignore[arg-type]


async def create(policy: PolicyHarness, policy_id: str, **kwargs: object) -> policy_pb2.Policy:
    return await policy.stub.CreatePolicy(
        policy_pb2.CreatePolicyRequest(policy_id=policy_id, policy=new_policy(**kwargs))  # type: ignore[arg-type]
    )


async def test_builtins_exist_enabled_on_first_start(policy: PolicyHarness) -> None:
    response = await policy.stub.ListPolicies(policy_pb2.ListPoliciesRequest(filter="builtin = true"))
    by_name = {p.name: p for p in response.policies}
    assert set(by_name) == {"policies/cost_limit", "policies/enforce_encryption", "policies/required_tags"}
    assert all(p.enabled and p.revision == 1 for p in by_name.values())
    assert by_name["policies/cost_limit"].severity == policy_pb2.SEVERITY_WARNING
    assert by_name["policies/cost_limit"].parameters["max_monthly_cost"] == 1000.0
    assert list(by_name["policies/required_tags"].parameters["tags"]) == [
        "owner",
        "cost_center",
        "environment",
    ]
    assert list(by_name["policies/enforce_encryption"].scope.resource_types) == ["database", "storage"]


async def test_create_get_update_delete(policy: PolicyHarness) -> None:
    created = await create(policy, "small-replicas")
    assert created.name == "policies/small-replicas"
    assert (created.revision, created.builtin) == (1, False)
    assert created.etag and created.create_time.seconds > 0

    fetched = await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name=created.name))
    assert fetched == created

    change = policy_pb2.Policy(name=created.name, enforcement_level=HARD, etag=created.etag)
    updated = await policy.stub.UpdatePolicy(
        policy_pb2.UpdatePolicyRequest(
            policy=change, update_mask=field_mask_pb2.FieldMask(paths=["enforcement_level"])
        )
    )
    assert updated.enforcement_level == HARD
    assert updated.revision == 2
    assert updated.etag != created.etag
    assert updated.expression == created.expression  # untouched by the mask

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await policy.stub.UpdatePolicy(
            policy_pb2.UpdatePolicyRequest(
                policy=change, update_mask=field_mask_pb2.FieldMask(paths=["enabled"])
            )
        )
    assert stale.value.code() == grpc.StatusCode.ABORTED

    await policy.stub.DeletePolicy(policy_pb2.DeletePolicyRequest(name=created.name, etag=updated.etag))
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name=created.name))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("resource.properties.replicas <=", "line 1, column 32: Syntax error"),
        ("resources.size() > 0", "line 1, column 1: undeclared reference to 'resources'"),
        ("resource.name", None),  # compiles: a dyn result is checked at run time
        ("1 + 1", "must yield a bool"),
    ],
)
async def test_invalid_cel_is_refused_with_position(
    policy: PolicyHarness, expression: str, fragment: str | None
) -> None:
    request = policy_pb2.CreatePolicyRequest(policy_id="bad", policy=new_policy(expression))
    if fragment is None:
        await policy.stub.CreatePolicy(request)
        return
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.CreatePolicy(request)
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = details.field_violations
    assert violation.field == "policy.expression"
    assert fragment in violation.description
    listed = await policy.stub.ListPolicies(policy_pb2.ListPoliciesRequest(filter="builtin = false"))
    assert list(listed.policies) == []  # nothing was created


async def test_every_problem_is_reported_at_once(policy: PolicyHarness) -> None:
    request = policy_pb2.CreatePolicyRequest(
        policy_id="Bad_ID!",
        policy=policy_pb2.Policy(
            expression="resource.",
            message="{resource.}",
            scope=policy_pb2.Scope(teams=["ok", "not ok"]),
        ),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.CreatePolicy(request)
    fields = sorted(v.field for v in error_details(caught.value).field_violations)
    assert fields == [
        "policy.enforcement_level",
        "policy.expression",
        "policy.message",
        "policy.scope.teams[1]",
        "policy.severity",
        "policy_id",
    ]


async def test_create_is_idempotent_by_request_id(policy: PolicyHarness) -> None:
    request = policy_pb2.CreatePolicyRequest(policy_id="once", policy=new_policy(), request_id="req-1")
    first = await policy.stub.CreatePolicy(request)
    again = await policy.stub.CreatePolicy(request)
    assert again == first
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="once", policy=new_policy()))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_update_refuses_bad_cel_and_changes_nothing(policy: PolicyHarness) -> None:
    created = await create(policy, "p")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.UpdatePolicy(
            policy_pb2.UpdatePolicyRequest(
                policy=policy_pb2.Policy(name=created.name, expression="resource.(("),
                update_mask=field_mask_pb2.FieldMask(paths=["expression"]),
            )
        )
    assert [v.field for v in error_details(caught.value).field_violations] == ["policy.expression"]
    assert await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name=created.name)) == created


async def test_update_mask_must_name_updatable_fields(policy: PolicyHarness) -> None:
    created = await create(policy, "p")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.UpdatePolicy(
            policy_pb2.UpdatePolicyRequest(
                policy=policy_pb2.Policy(name=created.name, builtin=True),
                update_mask=field_mask_pb2.FieldMask(paths=["builtin"]),
            )
        )
    assert [v.field for v in error_details(caught.value).field_violations] == ["update_mask"]


async def test_builtins_are_tunable_but_not_deletable(policy: PolicyHarness) -> None:
    change = policy_pb2.Policy(name="policies/cost_limit")
    change.parameters.update({"max_monthly_cost": 5000, "currency": "EUR"})
    updated = await policy.stub.UpdatePolicy(
        policy_pb2.UpdatePolicyRequest(
            policy=change, update_mask=field_mask_pb2.FieldMask(paths=["parameters"])
        )
    )
    assert updated.parameters["max_monthly_cost"] == 5000
    assert updated.builtin and updated.revision == 2
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.DeletePolicy(policy_pb2.DeletePolicyRequest(name="policies/cost_limit"))
    details = error_details(caught.value)
    assert (details.code, details.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "BUILTIN_POLICY")


async def test_list_filters_and_pages(policy: PolicyHarness) -> None:
    for index in range(5):
        await create(policy, f"custom-{index}", enabled=index % 2 == 0)
    seen: list[str] = []
    token = ""
    while True:
        page = await policy.stub.ListPolicies(
            policy_pb2.ListPoliciesRequest(page_size=2, page_token=token, filter="builtin = false")
        )
        assert len(page.policies) <= 2
        seen += [p.name for p in page.policies]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"policies/custom-{i}" for i in range(5)]

    disabled = await policy.stub.ListPolicies(policy_pb2.ListPoliciesRequest(filter="enabled = false"))
    assert [p.name for p in disabled.policies] == ["policies/custom-1", "policies/custom-3"]
    warnings = await policy.stub.ListPolicies(
        policy_pb2.ListPoliciesRequest(filter="severity = WARNING OR enforcement_level = ADVISORY")
    )
    assert [p.name for p in warnings.policies] == ["policies/cost_limit"]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"filter": "color = red"}, "filter"),
        ({"filter": "enabled = maybe"}, "filter"),
        ({"filter": "enabled ="}, "filter"),
        ({"page_token": "garbage"}, "page_token"),
        ({"page_size": -1}, "page_size"),
    ],
)
async def test_list_refuses_bad_requests(
    policy: PolicyHarness, request_fields: dict[str, object], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.ListPolicies(policy_pb2.ListPoliciesRequest(**request_fields))  # type: ignore[arg-type]
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == [field]


async def test_bad_names_are_invalid_arguments(policy: PolicyHarness) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name="templates/x"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
