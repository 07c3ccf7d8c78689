"""The two questions every flow that changes a plan asks: what it costs (cost) and whether policy allows it
at the target's levels (policy). The callers decide what to do with the answers."""

from __future__ import annotations

from collections.abc import Iterable

from google.type import money_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved.policy.v1 import policy_pb2

from paved_gateway import convert
from paved_gateway.backends import Backends
from paved_gateway.errors import call


async def estimate(backends: Backends, plan: common_pb2.Plan) -> cost_pb2.EstimateCostResponse:
    """Cost's monthly estimate of ``plan`` in its region."""
    return await call(
        "cost",
        backends.cost.EstimateCost(
            cost_pb2.EstimateCostRequest(resources=plan.resources, region=plan.region)
        ),
    )


def evaluate_request(
    resources: Iterable[common_pb2.Resource],
    *,
    team: str,
    environment: str,
    requester: str,
    service: str,
    monthly_cost: money_pb2.Money,
) -> policy_pb2.EvaluateRequest:
    """Policy's question about ``resources`` of ``service`` at ``environment``, priced at ``monthly_cost``."""
    return policy_pb2.EvaluateRequest(
        resources=resources,
        context=policy_pb2.EvaluationContext(
            team=team,
            environment=environment,
            requester=requester,
            service=service,
            estimated_monthly_cost=convert.money_amount(monthly_cost),
            currency=monthly_cost.currency_code or "USD",
        ),
    )


async def evaluate(backends: Backends, request: policy_pb2.EvaluateRequest) -> policy_pb2.EvaluateResponse:
    """Policy's decision (recorded in its audit log)."""
    return await call("policy", backends.policy.Evaluate(request))
