"""Drift between two rendered plans: which objects and which fields were added, changed or removed (the
structured diff of :mod:`paved_kit.structured_diff` over the plans' objects, each tagged with the resource
that rendered it).

Pure: no gRPC, no SQL, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paved_kit.structured_diff import (
    Change,
    FieldChange,
    ObjectChange,
    PlanDiff,
    diff_objects,
    escape,
    field_changes,
)

from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.rendering import RenderedPlan, render
from paved_catalog.spec import TemplateSpec

__all__ = [
    "Change",
    "FieldChange",
    "ObjectChange",
    "PlanDiff",
    "diff_objects",
    "diff_plans",
    "escape",
    "field_changes",
    "plan_objects",
    "revision_drift",
]


def plan_objects(plan: RenderedPlan) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects of a plan with the name of the resource that rendered each."""
    return [(resource.name, manifest) for resource in plan.resources for manifest in resource.manifests]


def diff_plans(before: RenderedPlan, after: RenderedPlan) -> PlanDiff:
    """The structured diff of what ``before`` rendered and what ``after`` renders."""
    return diff_objects(plan_objects(before), plan_objects(after))


def revision_drift(
    *,
    rendered_from: tuple[TemplateSpec, int],
    current: tuple[TemplateSpec, int],
    parameters: Mapping[str, Any],
    context: RenderContext,
    defaults: PlatformDefaults,
) -> PlanDiff:
    """What moving a service from the revision it was rendered from to the current one would change: both
    revisions rendered with the service's own parameters and the same context, so only the template's
    change shows (not hand edits, not platform defaults that moved meanwhile)."""
    (old_spec, old_revision), (new_spec, new_revision) = rendered_from, current
    before = render(old_spec, old_revision, parameters, context, defaults)
    after = render(new_spec, new_revision, parameters, context, defaults)
    return diff_plans(before, after)
