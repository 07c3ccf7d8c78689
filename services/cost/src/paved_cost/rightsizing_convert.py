"""Protobuf form of a resource recommendation."""

from __future__ import annotations

from paved.cost.v1 import cost_pb2

from paved_cost.convert import timestamp
from paved_cost.instance_fit import cpu_quantity, memory_quantity
from paved_cost.money import to_money
from paved_cost.rightsizer import ResourceRecommendation
from paved_cost.rightsizing import ResourceAdvice


def advice_message(advice: ResourceAdvice) -> cost_pb2.ResourceAdvice:
    """One resource's advice."""
    evidence = advice.evidence
    quantity = cpu_quantity if advice.resource == "cpu" else memory_quantity
    message = cost_pb2.ResourceAdvice(
        resource=advice.resource,
        current_request=advice.current_request,
        recommended_request=advice.recommended_request,
        vpa_target=advice.estimate.target,
        lower_bound=advice.estimate.lower,
        upper_bound=advice.estimate.upper,
        evidence=cost_pb2.UsageEvidence(
            p50=evidence.p50,
            p90=evidence.p90,
            p95=evidence.p95,
            p99=evidence.p99,
            peak=evidence.peak,
            samples=evidence.samples,
            days=evidence.days,
        ),
        reasons=advice.reasons,
        recommended_quantity=quantity(advice.recommended_request),
    )
    if advice.current_limit is not None:
        message.current_limit = advice.current_limit
    if advice.recommended_limit is not None:
        message.recommended_limit = advice.recommended_limit
    return message


def recommendation_message(r: ResourceRecommendation) -> cost_pb2.ResourceRecommendation:
    """A whole resource recommendation."""
    return cost_pb2.ResourceRecommendation(
        service=r.service,
        environment=r.environment,
        resource=r.resource,
        team=r.team,
        cpu=advice_message(r.advice.cpu),
        memory=advice_message(r.advice.memory),
        current_replicas=r.current.replicas,
        min_replicas=r.advice.min_replicas,
        max_replicas=r.advice.max_replicas,
        current_instance_type=r.current_instance_type,
        recommended_instance_type=r.recommended_instance_type,
        monthly_savings=to_money(r.monthly_savings, r.currency),
        confidence=r.advice.confidence,
        decrease_allowed=r.advice.decrease_allowed,
        changes=r.advice.changes,
        reasons=r.reasons,
        history_source=r.history_source,
        generate_time=timestamp(r.generated_at),
    )
