"""The policies Paved ships, from the source design: required tags, encryption of data stores, cost limit.

They are ordinary CEL policies with parameters, created enabled on the service's first start; operators
change their parameters, levels or scope like any other policy (and disable rather than delete them).
"""

from __future__ import annotations

from paved_policy.domain import EnforcementLevel, Policy, Scope, Severity

REQUIRED_TAGS = ("owner", "cost_center", "environment")
DATA_STORE_TYPES = ("database", "storage")

_MISSING_TAGS = "params.tags.filter(t, !(t in resource.tags) || resource.tags[t] == '')"
# A plan's resources share one estimate (context); a resource that carries its own estimate is judged by it.
_COST = (
    "(has(resource.properties.estimated_monthly_cost) ? "
    "double(resource.properties.estimated_monthly_cost) : context.estimated_monthly_cost)"
)


def builtin_policies(*, max_monthly_cost: float, currency: str) -> list[Policy]:
    """The built-in policies with their default parameters."""
    return [
        Policy(
            policy_id="required_tags",
            description="Every resource carries the tags ownership and cost reporting rely on.",
            severity=Severity.ERROR,
            enforcement_level=EnforcementLevel.HARD_MANDATORY,
            expression=f"size({_MISSING_TAGS}) == 0",
            message=f"{{resource.name}} is missing required tag(s): {{{_MISSING_TAGS}.join(', ')}}",
            parameters={"tags": list(REQUIRED_TAGS)},
            builtin=True,
        ),
        Policy(
            policy_id="enforce_encryption",
            description="Data stores (databases and storage) are encrypted at rest.",
            severity=Severity.ERROR,
            enforcement_level=EnforcementLevel.HARD_MANDATORY,
            scope=Scope(resource_types=DATA_STORE_TYPES),
            expression=(
                "params.property in resource.properties && resource.properties[params.property] == true"
            ),
            message="{resource.type} {resource.name} must be encrypted at rest (set {params.property}: true)",
            parameters={"property": "encrypted"},
            builtin=True,
        ),
        Policy(
            policy_id="cost_limit",
            description="The estimated monthly cost stays within the configured limit.",
            severity=Severity.WARNING,
            enforcement_level=EnforcementLevel.ADVISORY,
            expression=f"{_COST} <= double(params.max_monthly_cost)",
            message=(
                f"{{resource.name}}: estimated monthly cost {{{_COST}}} {{context.currency}} exceeds "
                "the limit of {params.max_monthly_cost} {params.currency}"
            ),
            parameters={"max_monthly_cost": float(max_monthly_cost), "currency": currency},
            builtin=True,
        ),
    ]
