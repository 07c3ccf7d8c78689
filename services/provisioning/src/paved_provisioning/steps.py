"""Vocabulary of operation steps: outcomes, errors, and the step lists of each kind of operation (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc

PROVISION = "provision"
DEPLOY = "workflow:deploy"
ROLLBACK = "workflow:rollback"
DEPROVISION = "deprovision"
UPDATE_INSTANCE_TYPE = "update_instance_type"
PROMOTE = "promotion"
OPTIMIZE_RESOURCES = "optimize_resources"
TEMPLATE_UPGRADE = "template_upgrade"
UPGRADE_ROLLBACK = "template_upgrade_rollback"
UPGRADE_ROLLBACK_STEPS = ("restore",)

PROVISION_STEPS = (
    "register_catalog",
    "gitops_commit",
    "create_alerts",
    "register_cost",
    "publish_docs",
    "activate",
)
# Provisioning steps that need only what came before them, not each other: they run at the same time.
CONCURRENT_PROVISION_STEPS = frozenset({"create_alerts", "register_cost", "publish_docs"})
DEFAULT_DEPLOY_STEPS = (
    "validate_config",
    "run_tests",
    "build_image",
    "deploy_canary",
    "run_smoke_tests",
    "promote_production",
)
DEFAULT_ROLLBACK_STEPS = ("identify_previous_version", "deploy_previous_version", "verify_health")
DEPROVISION_STEPS = (
    "retire_catalog",
    "remove_manifests",
    "delete_alerts",
    "unregister_cost",
    "delete_catalog",
)
UPDATE_INSTANCE_TYPE_STEPS = ("gitops_commit", "update_catalog", "register_cost")
# A promotion: every gate first (none changes anything), then the target is registered with its own
# default alerts and cost estimate and the deploy workflow runs there, then the target is marked active
# with what was promoted.
PROMOTION_GATES = ("gate_policy", "gate_soak", "gate_cost", "gate_approval")


def promotion_steps(template_steps: list[str] | None) -> tuple[str, ...]:
    """Gates, registering the target and its alerts, the template's deploy steps, activating the target."""
    return (
        *PROMOTION_GATES,
        "register_target",
        "create_target_alerts",
        "register_target_cost",
        *workflow_steps(DEPLOY, template_steps),
        "activate_target",
    )


OPTIMIZE_RESOURCES_STEPS = ("deploy_canary", "bake", "promote", "update_catalog", "register_cost")

# Codes worth retrying: the other side may succeed later. Everything else is a permanent answer.
RETRYABLE_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}


@dataclass(frozen=True)
class StepOutcome:
    """What a step did (``skipped`` when nothing was configured to run it, with the reason)."""

    detail: str
    output: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


class StepError(Exception):
    """A step failed; ``retryable`` failures are tried again with backoff."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class StepParked(Exception):
    """The step waits for something outside the platform (a person's approval) until ``until`` (seconds
    since the epoch): the operation is parked, holding no worker, and resumes at this step when woken or
    at ``until``."""

    def __init__(self, until: float, detail: str) -> None:
        super().__init__(detail)
        self.until = until
        self.detail = detail


def rpc_failure(what: str, error: grpc.aio.AioRpcError) -> StepError:
    """A StepError from a failed call to another service (its status and message, which are safe)."""
    code = error.code()
    return StepError(
        f"{what}: {code.name}: {error.details() or ''}".rstrip(": "), retryable=code in RETRYABLE_CODES
    )


def concurrent_steps(kind: str) -> frozenset[str]:
    """The steps of an operation of ``kind`` that run together when they come one after another."""
    return CONCURRENT_PROVISION_STEPS if kind == PROVISION else frozenset()


def workflow_steps(kind: str, template_steps: list[str] | None) -> tuple[str, ...]:
    """The steps of a workflow: the template's list when it declares one, else the platform's default."""
    if template_steps:
        return tuple(template_steps)
    return DEFAULT_DEPLOY_STEPS if kind == DEPLOY else DEFAULT_ROLLBACK_STEPS


def backoff_seconds(attempt: int, base: float, maximum: float) -> float:
    """Exponential backoff before attempt ``attempt + 1``."""
    return float(min(maximum, base * (2 ** max(attempt - 1, 0))))
