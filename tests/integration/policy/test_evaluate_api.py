"""Evaluate, exceptions, dry runs and the audit log over real gRPC on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from paved.common.v1 import common_pb2
from paved.policy.v1 import policy_pb2
from paved_kit.grpc_errors import error_details

PolicyHarness = Any  # conftest's harness: .stub and .clock
TAGS = {"owner": "payments", "team": "payments", "cost_center": "cc-1", "environment": "production"}
ADVISORY = policy_pb2.ENFORCEMENT_LEVEL_ADVISORY
SOFT = policy_pb2.ENFORCEMENT_LEVEL_SOFT_MANDATORY
HARD = policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY


def resource(name: str, kind: str = "compute", tags: dict[str, str] | None = None, **properties: Any) -> Any:
    message = common_pb2.Resource(name=name, type=kind, tags=TAGS if tags is None else tags)
    message.properties.update(properties)
    return message


def context(**kwargs: Any) -> policy_pb2.EvaluationContext:
    values: dict[str, Any] = {
        "team": "payments",
        "environment": "production",
        "requester": "alice@example.com",
        "service": "checkout",
        "estimated_monthly_cost": 100.0,
        "currency": "USD",
    }
    values.update(kwargs)
    return policy_pb2.EvaluationContext(**values)


async def add_policy(
    policy: PolicyHarness, policy_id: str, expression: str, level: int, **kwargs: Any
) -> Any:
    return await policy.stub.CreatePolicy(
        policy_pb2.CreatePolicyRequest(
            policy_id=policy_id,
            policy=policy_pb2.Policy(
                severity=policy_pb2.SEVERITY_ERROR,
                enforcement_level=level,
                expression=expression,
                enabled=True,
                **kwargs,
            ),
        )
    )


async def evaluate(policy: PolicyHarness, *resources: Any, **kwargs: Any) -> policy_pb2.EvaluateResponse:
    request = policy_pb2.EvaluateRequest(resources=resources, context=kwargs.pop("ctx", context()), **kwargs)
    return await policy.stub.Evaluate(request)


async def test_builtins_allow_a_compliant_plan_and_deny_an_unencrypted_database(
    policy: PolicyHarness,
) -> None:
    ok = await evaluate(
        policy, resource("compute"), resource("database", "database", engine="postgres", encrypted=True)
    )
    assert ok.outcome == policy_pb2.DECISION_OUTCOME_ALLOW
    assert [r.policies_evaluated for r in ok.results] == [2, 3]

    denied = await evaluate(policy, resource("compute"), resource("database", "database", encrypted=False))
    assert denied.outcome == policy_pb2.DECISION_OUTCOME_DENY
    [violation] = denied.results[1].violations
    assert violation.policy == "policies/enforce_encryption"
    assert violation.enforcement_level == HARD
    assert violation.message == "database database must be encrypted at rest (set encrypted: true)"
    assert "policies/enforce_encryption on database" in denied.summary


async def test_cost_limit_only_warns(policy: PolicyHarness) -> None:
    response = await evaluate(policy, resource("compute"), ctx=context(estimated_monthly_cost=2500.0))
    assert response.outcome == policy_pb2.DECISION_OUTCOME_ALLOW_WITH_WARNINGS
    [violation] = response.results[0].violations
    assert violation.severity == policy_pb2.SEVERITY_WARNING
    assert violation.message == "compute: estimated monthly cost 2500 USD exceeds the limit of 1000 USD"


@pytest.mark.parametrize(
    ("level", "outcome"),
    [
        (ADVISORY, policy_pb2.DECISION_OUTCOME_ALLOW_WITH_WARNINGS),
        (SOFT, policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE),
        (HARD, policy_pb2.DECISION_OUTCOME_DENY),
    ],
)
async def test_each_enforcement_level(policy: PolicyHarness, level: int, outcome: int) -> None:
    await add_policy(policy, "replicas", "resource.properties.replicas <= 3", level)
    assert (
        await evaluate(policy, resource("compute", replicas=2))
    ).outcome == policy_pb2.DECISION_OUTCOME_ALLOW
    assert (await evaluate(policy, resource("compute", replicas=5))).outcome == outcome


async def test_override_needs_who_and_why(policy: PolicyHarness) -> None:
    await add_policy(policy, "replicas", "resource.properties.replicas <= 3", SOFT)
    big = resource("compute", replicas=5)
    for incomplete, field in (
        (policy_pb2.Override(reason="peak"), "override.approved_by"),
        (policy_pb2.Override(approved_by="bob"), "override.reason"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await evaluate(policy, big, override=incomplete)
        details = error_details(caught.value)
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in details.field_violations] == [field]

    granted = await evaluate(
        policy, big, override=policy_pb2.Override(approved_by="bob", reason="peak season")
    )
    assert granted.outcome == policy_pb2.DECISION_OUTCOME_ALLOW_WITH_WARNINGS
    assert granted.override_applied
    recorded = await policy.stub.GetDecision(policy_pb2.GetDecisionRequest(name=granted.decision))
    assert (recorded.override.approved_by, recorded.override.reason) == ("bob", "peak season")

    await add_policy(policy, "no-spot", "!has(resource.properties.spot) || !resource.properties.spot", HARD)
    still_denied = await evaluate(
        policy,
        resource("compute", replicas=5, spot=True),
        override=policy_pb2.Override(approved_by="b", reason="r"),
    )
    assert still_denied.outcome == policy_pb2.DECISION_OUTCOME_DENY
    assert not still_denied.override_applied


async def test_runtime_errors_are_surfaced_not_passed(policy: PolicyHarness) -> None:
    await add_policy(policy, "encrypted-flag", "resource.properties.encrypted == true", SOFT)
    response = await evaluate(policy, resource("compute"))
    assert response.outcome == policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE
    [error] = response.results[0].errors
    assert (error.policy, error.resource, error.message) == (
        "policies/encrypted-flag",
        "compute",
        "no such key: encrypted",
    )
    assert error.enforcement_level == SOFT


async def test_scope_by_team_environment_and_type(policy: PolicyHarness) -> None:
    await add_policy(
        policy,
        "prod-db-multi-az",
        "resource.properties.multi_az == true",
        HARD,
        scope=policy_pb2.Scope(resource_types=["database"], environments=["production"], teams=["payments"]),
    )
    db = resource("db", "database", encrypted=True, multi_az=False)
    assert (await evaluate(policy, db)).outcome == policy_pb2.DECISION_OUTCOME_DENY
    for other in (context(environment="staging"), context(team="search")):
        assert (await evaluate(policy, db, ctx=other)).outcome == policy_pb2.DECISION_OUTCOME_ALLOW
    assert (
        await evaluate(policy, resource("web", multi_az=False))
    ).outcome == policy_pb2.DECISION_OUTCOME_ALLOW


def expires_in(policy: PolicyHarness, delta: timedelta) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(policy.clock.now + delta)
    return stamp


async def test_exceptions_apply_and_expire_by_themselves(policy: PolicyHarness) -> None:
    unencrypted = resource("legacy-db", "database", encrypted=False)
    created = await policy.stub.CreateException(
        policy_pb2.CreateExceptionRequest(
            parent="policies/enforce_encryption",
            exception=policy_pb2.PolicyException(
                resource_pattern="legacy-*",
                team="payments",
                approved_by="carol (CISO)",
                reason="migration to encrypted storage scheduled",
                expire_time=expires_in(policy, timedelta(hours=1)),
            ),
        )
    )
    assert created.name.startswith("policies/enforce_encryption/exceptions/")

    waived = await evaluate(policy, unencrypted)
    assert waived.outcome == policy_pb2.DECISION_OUTCOME_ALLOW
    [item] = waived.results[0].waived
    assert item.exception == created.name
    assert item.violation.policy == "policies/enforce_encryption"
    # the pattern and the team limit the waiver
    assert (
        await evaluate(policy, resource("new-db", "database", encrypted=False))
    ).outcome == policy_pb2.DECISION_OUTCOME_DENY
    assert (
        await evaluate(policy, unencrypted, ctx=context(team="search"))
    ).outcome == policy_pb2.DECISION_OUTCOME_DENY

    policy.clock.now += timedelta(hours=2)
    expired = await evaluate(policy, unencrypted)
    assert expired.outcome == policy_pb2.DECISION_OUTCOME_DENY
    assert list(expired.results[0].waived) == []

    active = await policy.stub.ListExceptions(policy_pb2.ListExceptionsRequest(parent="policies/-"))
    assert list(active.exceptions) == []
    everything = await policy.stub.ListExceptions(
        policy_pb2.ListExceptionsRequest(parent="policies/enforce_encryption", show_expired=True)
    )
    assert [e.name for e in everything.exceptions] == [created.name]
    await policy.stub.DeleteException(policy_pb2.DeleteExceptionRequest(name=created.name))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.DeleteException(policy_pb2.DeleteExceptionRequest(name=created.name))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_exceptions_need_approver_reason_and_future_expiry(policy: PolicyHarness) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.CreateException(
            policy_pb2.CreateExceptionRequest(
                parent="policies/enforce_encryption", exception=policy_pb2.PolicyException()
            )
        )
    fields = sorted(v.field for v in error_details(caught.value).field_violations)
    assert fields == ["exception.approved_by", "exception.expire_time", "exception.reason"]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await policy.stub.CreateException(
            policy_pb2.CreateExceptionRequest(
                parent="policies/nope",
                exception=policy_pb2.PolicyException(
                    approved_by="a", reason="b", expire_time=expires_in(policy, timedelta(days=1))
                ),
            )
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_bad_evaluate_requests_are_refused_and_not_recorded(policy: PolicyHarness) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await evaluate(policy, resource("a"), resource("a"), resource("", ""))
    fields = sorted(v.field for v in error_details(caught.value).field_violations)
    assert fields == ["resources[1].name", "resources[2].name", "resources[2].type"]
    log = await policy.stub.ListDecisions(policy_pb2.ListDecisionsRequest())
    assert list(log.decisions) == []


async def test_every_decision_is_recorded_and_listable(policy: PolicyHarness) -> None:
    await add_policy(policy, "replicas", "resource.properties.replicas <= 3", SOFT)
    first = await evaluate(policy, resource("compute", replicas=1))
    policy.clock.now += timedelta(seconds=1)
    second = await evaluate(
        policy,
        resource("compute", replicas=9),
        ctx=context(team="search", requester="bob", service="search-api"),
    )
    policy.clock.now += timedelta(seconds=1)
    third = await evaluate(policy, resource("database", "database"), ctx=context(service="ledger"))

    log = await policy.stub.ListDecisions(policy_pb2.ListDecisionsRequest())
    assert [d.name for d in log.decisions] == [
        third.decision,
        second.decision,
        first.decision,
    ]  # newest first

    recorded = await policy.stub.GetDecision(policy_pb2.GetDecisionRequest(name=second.decision))
    assert recorded.outcome == policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE
    assert (recorded.requester, recorded.team, recorded.service) == ("bob", "search", "search-api")
    assert recorded.policy_revisions == {
        "policies/replicas": 1,
        "policies/required_tags": 1,
        "policies/enforce_encryption": 1,
        "policies/cost_limit": 1,
    }
    assert list(recorded.results) == list(second.results)
    assert len(recorded.inputs_digest) == 64

    same_inputs = await evaluate(
        policy,
        resource("compute", replicas=9),
        ctx=context(team="search", requester="bob", service="search-api"),
    )
    again = await policy.stub.GetDecision(policy_pb2.GetDecisionRequest(name=same_inputs.decision))
    assert again.inputs_digest != recorded.inputs_digest  # the time differs: it is an input too

    filtered = await policy.stub.ListDecisions(
        policy_pb2.ListDecisionsRequest(filter='team = "payments" AND outcome = DENY')
    )
    assert [d.name for d in filtered.decisions] == [third.decision]
    by_requester = await policy.stub.ListDecisions(
        policy_pb2.ListDecisionsRequest(filter='requester = "bob"')
    )
    assert len(by_requester.decisions) == 2

    page = await policy.stub.ListDecisions(policy_pb2.ListDecisionsRequest(page_size=3))
    rest = await policy.stub.ListDecisions(
        policy_pb2.ListDecisionsRequest(page_size=3, page_token=page.next_page_token)
    )
    assert len(page.decisions) == 3 and [d.name for d in rest.decisions] == [first.decision]
    assert rest.next_page_token == ""


async def test_policy_revision_is_recorded_per_decision(policy: PolicyHarness) -> None:
    created = await add_policy(policy, "replicas", "resource.properties.replicas <= 3", SOFT)
    before = await evaluate(policy, resource("compute", replicas=5))
    await policy.stub.UpdatePolicy(
        policy_pb2.UpdatePolicyRequest(
            policy=policy_pb2.Policy(name=created.name, expression="resource.properties.replicas <= 10"),
            update_mask=field_mask_pb2.FieldMask(paths=["expression"]),
        )
    )
    after = await evaluate(policy, resource("compute", replicas=5))
    assert (before.outcome, after.outcome) == (
        policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE,
        policy_pb2.DECISION_OUTCOME_ALLOW,
    )
    revisions = [
        (await policy.stub.GetDecision(policy_pb2.GetDecisionRequest(name=d))).policy_revisions[
            "policies/replicas"
        ]
        for d in (before.decision, after.decision)
    ]
    assert revisions == [1, 2]


async def test_disabled_policies_are_not_applied_but_can_be_dry_run(policy: PolicyHarness) -> None:
    draft = policy_pb2.Policy(
        name="policies/no-large",
        severity=policy_pb2.SEVERITY_ERROR,
        enforcement_level=HARD,
        expression="!resource.properties.instance_type.endsWith('xlarge')",
        message="{resource.name} uses {resource.properties.instance_type}",
    )
    await policy.stub.CreatePolicy(policy_pb2.CreatePolicyRequest(policy_id="no-large", policy=draft))
    big = resource("compute", instance_type="c5.2xlarge")
    assert (await evaluate(policy, big)).outcome == policy_pb2.DECISION_OUTCOME_ALLOW  # not enabled

    dry = await policy.stub.DryRunPolicies(
        policy_pb2.DryRunPoliciesRequest(
            policies=[draft], resources=[big, resource("small", instance_type="t3.small")], context=context()
        )
    )
    assert dry.outcome == policy_pb2.DECISION_OUTCOME_DENY
    assert [v.message for v in dry.results[0].violations] == ["compute uses c5.2xlarge"]
    assert list(dry.results[1].violations) == []
    log = await policy.stub.ListDecisions(policy_pb2.ListDecisionsRequest())
    assert len(log.decisions) == 1  # the dry run recorded nothing

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.DryRunPolicies(
            policy_pb2.DryRunPoliciesRequest(
                policies=[policy_pb2.Policy(expression="resource.(", severity=1, enforcement_level=1)],
                resources=[big],
            )
        )
    assert [v.field for v in error_details(caught.value).field_violations] == ["policies[0].expression"]


async def test_concurrent_evaluations_are_all_recorded(policy: PolicyHarness) -> None:
    import asyncio

    responses = await asyncio.gather(*(evaluate(policy, resource(f"web-{i}", replicas=i)) for i in range(20)))
    assert all(r.outcome == policy_pb2.DECISION_OUTCOME_ALLOW for r in responses)
    log = await policy.stub.ListDecisions(policy_pb2.ListDecisionsRequest(page_size=100))
    assert sorted(d.name for d in log.decisions) == sorted(r.decision for r in responses)


async def test_audit_log_filters_by_time_and_unknown_decisions_are_not_found(policy: PolicyHarness) -> None:
    early = await evaluate(policy, resource("compute"))
    policy.clock.now += timedelta(hours=1)
    late = await evaluate(policy, resource("compute"))
    cutoff = (policy.clock.now - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    recent = await policy.stub.ListDecisions(
        policy_pb2.ListDecisionsRequest(filter=f'create_time >= "{cutoff}"')
    )
    assert [d.name for d in recent.decisions] == [late.decision]
    assert early.decision != late.decision
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await policy.stub.GetDecision(policy_pb2.GetDecisionRequest(name="decisions/nope"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_exceptions_page_and_dry_runs_honour_them(policy: PolicyHarness) -> None:
    names = []
    for index in range(3):
        created = await policy.stub.CreateException(
            policy_pb2.CreateExceptionRequest(
                parent="policies/enforce_encryption",
                exception=policy_pb2.PolicyException(
                    resource_pattern=f"legacy-{index}",
                    approved_by="carol",
                    reason="migration",
                    expire_time=expires_in(policy, timedelta(days=1)),
                ),
                request_id=f"waiver-{index}",
            )
        )
        names.append(created.name)
    again = await policy.stub.CreateException(
        policy_pb2.CreateExceptionRequest(
            parent="policies/enforce_encryption",
            exception=policy_pb2.PolicyException(
                approved_by="carol", reason="migration", expire_time=expires_in(policy, timedelta(days=1))
            ),
            request_id="waiver-0",
        )
    )
    assert again.name == names[0]  # idempotent by request id
    first = await policy.stub.ListExceptions(
        policy_pb2.ListExceptionsRequest(parent="policies/-", page_size=2)
    )
    rest = await policy.stub.ListExceptions(
        policy_pb2.ListExceptionsRequest(parent="policies/-", page_size=2, page_token=first.next_page_token)
    )
    assert [e.name for e in [*first.exceptions, *rest.exceptions]] == names
    assert rest.next_page_token == ""

    listed = await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/enforce_encryption"))
    dry = await policy.stub.DryRunPolicies(
        policy_pb2.DryRunPoliciesRequest(
            policies=[listed],
            resources=[
                resource("legacy-1", "database", encrypted=False),
                resource("db", "database", encrypted=False),
            ],
            context=context(),
        )
    )
    assert [len(r.waived) for r in dry.results] == [1, 0]
    assert dry.outcome == policy_pb2.DECISION_OUTCOME_DENY


async def test_a_policy_enforces_at_its_level_for_each_environment(policy: PolicyHarness) -> None:
    await add_policy(
        policy,
        "replicated",
        "resource.properties.replicas >= 2",
        ADVISORY,
        environment_levels={"production": HARD, "staging": SOFT},
    )
    single = resource("web", replicas=1)

    development = await evaluate(policy, single, ctx=context(environment="development"))
    staging = await evaluate(policy, single, ctx=context(environment="staging"))
    production = await evaluate(policy, single, ctx=context(environment="production"))

    assert development.outcome == policy_pb2.DECISION_OUTCOME_ALLOW_WITH_WARNINGS
    assert staging.outcome == policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE
    assert production.outcome == policy_pb2.DECISION_OUTCOME_DENY
    assert production.results[0].violations[0].enforcement_level == HARD
    recorded = await policy.stub.GetDecision(policy_pb2.GetDecisionRequest(name=production.decision))
    assert recorded.environment == "production"
    fetched = await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/replicated"))
    assert dict(fetched.environment_levels) == {"production": HARD, "staging": SOFT}

    relaxed = await policy.stub.UpdatePolicy(
        policy_pb2.UpdatePolicyRequest(
            policy=policy_pb2.Policy(name="policies/replicated", environment_levels={"production": SOFT}),
            update_mask=field_mask_pb2.FieldMask(paths=["environment_levels"]),
        )
    )
    assert dict(relaxed.environment_levels) == {"production": SOFT}
    again = await evaluate(policy, single, ctx=context(environment="production"))
    assert again.outcome == policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE


async def test_a_bad_environment_level_is_refused_naming_the_field(policy: PolicyHarness) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await add_policy(policy, "odd", "true", ADVISORY, environment_levels={"Prod uction!": HARD})
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == ["policy.environment_levels"]
    with pytest.raises(grpc.aio.AioRpcError):
        await policy.stub.GetPolicy(policy_pb2.GetPolicyRequest(name="policies/odd"))
