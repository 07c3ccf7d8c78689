"""Drift between rendered plans: objects and fields added, changed and removed, keyed and pointed."""

from __future__ import annotations

from typing import Any

from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document
from paved_catalog.drift import (
    Change,
    FieldChange,
    diff_objects,
    diff_plans,
    escape,
    field_changes,
    revision_drift,
)
from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.rendering import RenderedPlan, render

PARAMETERS = {"service_name": "checkout", "language": "python", "min_instances": 3}
MEMORY_LIMIT = "                      memory: 512Mi\n"
READINESS = "                  readinessProbe:\n"
STARTUP = (
    "                  startupProbe:\n"
    "                    httpGet:\n"
    "                      path: /healthz\n"
    "                      port: http\n"
    "                    failureThreshold: 30\n"
)


def _render(document: str, revision: int, parameters: dict[str, Any] = PARAMETERS) -> RenderedPlan:
    parsed = parse_template_document(document)
    assert parsed.spec is not None, parsed.violations
    context = RenderContext(team="payments", environment="production")
    return render(parsed.spec, revision, parameters, context, PlatformDefaults())


def _revision_two() -> str:
    document = builtin_documents()["web-service.yaml"]
    assert document.count(MEMORY_LIMIT) == 1 and document.count(READINESS) == 1
    return document.replace(MEMORY_LIMIT, MEMORY_LIMIT.replace("512Mi", "1Gi")).replace(
        READINESS, STARTUP + READINESS
    )


def test_the_same_render_has_no_drift() -> None:
    document = builtin_documents()["web-service.yaml"]
    diff = diff_plans(_render(document, 1), _render(document, 1))
    assert not diff.drifted
    assert diff.counts() == {"added": 0, "changed": 0, "removed": 0}


def test_a_new_revision_that_adds_a_probe_and_raises_a_limit() -> None:
    before = _render(builtin_documents()["web-service.yaml"], 1)
    after = _render(_revision_two(), 2)
    diff = diff_plans(before, after)
    assert [(o.key, o.change) for o in diff.objects] == [("Deployment/payments/checkout", Change.CHANGED)]
    (deployment,) = diff.objects
    assert (deployment.kind, deployment.name, deployment.resource) == ("Deployment", "checkout", "compute")
    container = "/spec/template/spec/containers/0"
    assert deployment.fields == (
        FieldChange(f"{container}/resources/limits/memory", Change.CHANGED, before="512Mi", after="1Gi"),
        FieldChange(
            f"{container}/startupProbe",
            Change.ADDED,
            after={"httpGet": {"path": "/healthz", "port": "http"}, "failureThreshold": 30},
        ),
    )
    assert diff.counts() == {"added": 0, "changed": 1, "removed": 0}


def test_own_parameters_change_only_what_they_feed() -> None:
    document = builtin_documents()["web-service.yaml"]
    diff = diff_plans(_render(document, 1), _render(document, 1, {**PARAMETERS, "min_instances": 5}))
    changed = {o.key: [(f.path, f.before, f.after) for f in o.fields] for o in diff.objects}
    assert changed == {
        "Deployment/payments/checkout": [("/spec/replicas", 3, 5)],
        "HorizontalPodAutoscaler/payments/checkout": [("/spec/minReplicas", 3, 5)],
    }


def test_objects_added_and_removed_whole() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "namespace": "team"}}
    terraform = {"module": {"db": {"size": "small"}}}
    diff = diff_objects([("app", config), ("database", terraform)], [("app", secret)])
    assert [(o.key, o.change, o.kind, o.name) for o in diff.objects] == [
        ("ConfigMap/team/a", Change.REMOVED, "ConfigMap", "a"),
        ("Secret/team/a", Change.ADDED, "Secret", "a"),
        ("database#0", Change.REMOVED, "", "database"),
    ]
    assert all(o.fields == () for o in diff.objects)


def test_objects_without_a_kind_are_compared_by_position_in_their_resource() -> None:
    diff = diff_objects(
        [("database", {"module": {"db": {"size": "small"}}})],
        [("database", {"module": {"db": {"size": "large"}}})],
    )
    assert [(o.key, o.fields) for o in diff.objects] == [
        ("database#0", (FieldChange("/module/db/size", Change.CHANGED, before="small", after="large"),))
    ]


def test_named_list_items_are_matched_by_name_not_position() -> None:
    before = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    after = {"env": [{"name": "NEW", "value": "0"}, {"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}
    assert field_changes(before, after) == [
        FieldChange("/env/0", Change.ADDED, after={"name": "NEW", "value": "0"}),
        FieldChange("/env/2/value", Change.CHANGED, before="2", after="3"),
    ]
    removed = field_changes(after, before)
    assert FieldChange("/env/0", Change.REMOVED, before={"name": "NEW", "value": "0"}) in removed


def test_plain_lists_compare_by_position() -> None:
    assert field_changes({"args": ["a", "b"]}, {"args": ["a", "c", "d"]}) == [
        FieldChange("/args/1", Change.CHANGED, before="b", after="c"),
        FieldChange("/args/2", Change.ADDED, after="d"),
    ]
    assert field_changes(["a", "b"], ["a"]) == [FieldChange("/1", Change.REMOVED, before="b")]


def test_a_type_change_is_a_change_even_when_values_compare_equal() -> None:
    assert field_changes({"replicas": 1}, {"replicas": True}) == [
        FieldChange("/replicas", Change.CHANGED, before=1, after=True)
    ]
    assert field_changes({"port": 80}, {"port": "80"})[0].change is Change.CHANGED


def test_pointer_tokens_are_escaped() -> None:
    assert escape("app.kubernetes.io/name") == "app.kubernetes.io~1name"
    assert escape("a~b") == "a~0b"
    changes = field_changes(
        {"metadata": {"labels": {"app.kubernetes.io/name": "a"}}},
        {"metadata": {"labels": {"app.kubernetes.io/name": "b"}}},
    )
    assert [c.path for c in changes] == ["/metadata/labels/app.kubernetes.io~1name"]


def test_the_same_object_twice_in_one_plan_is_kept_apart() -> None:
    first = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}}
    second = {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "2"}}
    diff = diff_objects([("r", first), ("r", second)], [("r", first)])
    assert [(o.key, o.change) for o in diff.objects] == [("ConfigMap/a#1", Change.REMOVED)]


def test_revision_drift_renders_both_revisions_with_the_service_parameters() -> None:
    first = parse_template_document(builtin_documents()["web-service.yaml"]).spec
    second = parse_template_document(_revision_two()).spec
    assert first is not None and second is not None
    context = RenderContext(team="payments", environment="production")
    diff = revision_drift(
        rendered_from=(first, 1),
        current=(second, 2),
        parameters={**PARAMETERS, "min_instances": 5},
        context=context,
        defaults=PlatformDefaults(),
    )
    assert [o.key for o in diff.objects] == ["Deployment/payments/checkout"]
    assert [f.path for f in diff.objects[0].fields] == [
        "/spec/template/spec/containers/0/resources/limits/memory",
        "/spec/template/spec/containers/0/startupProbe",
    ]
    same = revision_drift(
        rendered_from=(first, 1),
        current=(first, 1),
        parameters=PARAMETERS,
        context=context,
        defaults=PlatformDefaults(),
    )
    assert not same.drifted
