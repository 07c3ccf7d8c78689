"""``paved.policy.v1.PolicyService`` over gRPC: converts requests, delegates, converts answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeAlias

import grpc.aio
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved_kit.errors import FieldViolation

from paved_policy import convert
from paved_policy.administration import Administration, parse_policy_name
from paved_policy.decisions import Decisions
from paved_policy.domain import EvaluationResult

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def _results(result: EvaluationResult) -> list[policy_pb2.ResourceResult]:
    return [convert.result_to_proto(item) for item in result.results]


class PolicyServicer(policy_pb2_grpc.PolicyServiceServicer):
    """Thin transport over Administration and Decisions."""

    def __init__(
        self, administration: Administration, decisions: Decisions, clock: Callable[[], datetime]
    ) -> None:
        self._administration = administration
        self._decisions = decisions
        self._clock = clock

    async def CreatePolicy(
        self, request: policy_pb2.CreatePolicyRequest, context: Context
    ) -> policy_pb2.Policy:
        problems: list[FieldViolation] = []
        policy = convert.policy_from_proto(
            request.policy, policy_id=request.policy_id, field="policy", problems=problems
        )
        record = await self._administration.create_policy(
            policy, request_id=request.request_id, problems=problems
        )
        return convert.policy_to_proto(record)

    async def GetPolicy(self, request: policy_pb2.GetPolicyRequest, context: Context) -> policy_pb2.Policy:
        return convert.policy_to_proto(await self._administration.get_policy(request.name))

    async def ListPolicies(
        self, request: policy_pb2.ListPoliciesRequest, context: Context
    ) -> policy_pb2.ListPoliciesResponse:
        records, token = await self._administration.list_policies(
            filter_text=request.filter, page_token=request.page_token, requested_size=request.page_size
        )
        return policy_pb2.ListPoliciesResponse(
            policies=[convert.policy_to_proto(r) for r in records], next_page_token=token
        )

    async def UpdatePolicy(
        self, request: policy_pb2.UpdatePolicyRequest, context: Context
    ) -> policy_pb2.Policy:
        problems: list[FieldViolation] = []
        policy_id = parse_policy_name(request.policy.name, "policy.name")
        policy = convert.policy_from_proto(
            request.policy, policy_id=policy_id, field="policy", problems=problems
        )
        record = await self._administration.update_policy(
            policy,
            name=request.policy.name,
            update_mask=list(request.update_mask.paths),
            etag=request.policy.etag,
            problems=problems,
        )
        return convert.policy_to_proto(record)

    async def DeletePolicy(
        self, request: policy_pb2.DeletePolicyRequest, context: Context
    ) -> policy_pb2.DeletePolicyResponse:
        await self._administration.delete_policy(request.name, etag=request.etag)
        return policy_pb2.DeletePolicyResponse()

    async def CreateException(
        self, request: policy_pb2.CreateExceptionRequest, context: Context
    ) -> policy_pb2.PolicyException:
        exception = convert.exception_from_proto(request.exception, policy=request.parent)
        created = await self._administration.create_exception(
            request.parent, exception, request_id=request.request_id
        )
        return convert.exception_to_proto(created)

    async def ListExceptions(
        self, request: policy_pb2.ListExceptionsRequest, context: Context
    ) -> policy_pb2.ListExceptionsResponse:
        exceptions, token = await self._administration.list_exceptions(
            request.parent,
            show_expired=request.show_expired,
            page_token=request.page_token,
            requested_size=request.page_size,
        )
        return policy_pb2.ListExceptionsResponse(
            exceptions=[convert.exception_to_proto(e) for e in exceptions], next_page_token=token
        )

    async def DeleteException(
        self, request: policy_pb2.DeleteExceptionRequest, context: Context
    ) -> policy_pb2.DeleteExceptionResponse:
        await self._administration.delete_exception(request.name)
        return policy_pb2.DeleteExceptionResponse()

    async def Evaluate(
        self, request: policy_pb2.EvaluateRequest, context: Context
    ) -> policy_pb2.EvaluateResponse:
        result, decision = await self._decisions.evaluate(
            [convert.resource_from_proto(r) for r in request.resources],
            convert.context_from_proto(request.context, self._clock),
            convert.override_from_request(request),
        )
        return policy_pb2.EvaluateResponse(
            outcome=convert.OUTCOMES[result.outcome],
            results=_results(result),
            decision=decision,
            override_applied=result.override_applied,
            summary=result.summary,
        )

    async def DryRunPolicies(
        self, request: policy_pb2.DryRunPoliciesRequest, context: Context
    ) -> policy_pb2.DryRunPoliciesResponse:
        problems: list[FieldViolation] = []
        policies = [
            convert.policy_from_proto(
                message,
                policy_id=convert.policy_id_of(message.name),
                field=f"policies[{i}]",
                problems=problems,
            )
            for i, message in enumerate(request.policies)
        ]
        result = await self._decisions.dry_run(
            policies,
            [convert.resource_from_proto(r) for r in request.resources],
            convert.context_from_proto(request.context, self._clock),
            problems=problems,
        )
        return policy_pb2.DryRunPoliciesResponse(
            outcome=convert.OUTCOMES[result.outcome], results=_results(result)
        )

    async def GetDecision(
        self, request: policy_pb2.GetDecisionRequest, context: Context
    ) -> policy_pb2.Decision:
        return convert.decision_to_proto(await self._decisions.get_decision(request.name))

    async def ListDecisions(
        self, request: policy_pb2.ListDecisionsRequest, context: Context
    ) -> policy_pb2.ListDecisionsResponse:
        decisions, token = await self._decisions.list_decisions(
            filter_text=request.filter, page_token=request.page_token, requested_size=request.page_size
        )
        return policy_pb2.ListDecisionsResponse(
            decisions=[convert.decision_to_proto(d) for d in decisions], next_page_token=token
        )
