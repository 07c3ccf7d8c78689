"""Every overlay builds offline and every object it renders is valid against the Kubernetes schemas."""

from __future__ import annotations

from collections import Counter
from typing import Any

import kubernetes_validate
import pytest

Manifest = dict[str, Any]
OVERLAYS = ("dev", "production")

# The oldest Kubernetes we claim to support (native gRPC probes are GA since 1.27) and the newest
# schema kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
CLUSTER_SCOPED = {"Namespace"}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_against_the_kubernetes_schema(
    overlays: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    problems = []
    for obj in overlays[overlay]:
        try:
            # Strict: an unknown (misspelt or misplaced) field is an error, not silently dropped.
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_names_are_unique_and_everything_is_in_the_overlay_namespace(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = overlays[overlay]
    keys = Counter((obj["kind"], obj["metadata"]["name"]) for obj in objects)
    assert [key for key, count in keys.items() if count > 1] == []
    namespaces = [obj for obj in objects if obj["kind"] == "Namespace"]
    assert len(namespaces) == 1
    namespace = namespaces[0]["metadata"]["name"]
    misplaced = [
        f"{obj['kind']}/{obj['metadata']['name']}"
        for obj in objects
        if obj["kind"] not in CLUSTER_SCOPED and obj["metadata"].get("namespace") != namespace
    ]
    assert misplaced == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_suite_is_complete(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    present = {(obj["kind"], obj["metadata"]["name"]) for obj in overlays[overlay]}
    expected = {("ServiceAccount", "paved"), ("Ingress", "paved-gateway")}
    for service in ("catalog", "provisioning", "policy", "cost", "alerting", "gateway"):
        expected |= {
            ("Deployment", f"paved-{service}"),
            ("Service", f"paved-{service}"),
            ("PodDisruptionBudget", f"paved-{service}"),
            ("NetworkPolicy", f"paved-{service}"),
        }
    for service in ("catalog", "provisioning", "policy", "cost", "alerting"):
        expected.add(("Job", f"paved-{service}-migrate"))
    expected |= {
        ("Deployment", "paved-provisioning-worker"),
        ("PodDisruptionBudget", "paved-provisioning-worker"),
        ("NetworkPolicy", "paved-provisioning-worker"),
        ("HorizontalPodAutoscaler", "paved-gateway"),
        ("HorizontalPodAutoscaler", "paved-provisioning-worker"),
        ("NetworkPolicy", "paved-default-deny"),
    }
    assert expected - present == set()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budgets_and_autoscalers_point_at_real_workloads(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = overlays[overlay]
    deployments = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Deployment"}
    pod_labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()}
    budgets = [obj for obj in objects if obj["kind"] == "PodDisruptionBudget"]
    covered = set()
    for budget in budgets:
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [name for name, labels in pod_labels.items() if selector.items() <= labels.items()]
        assert len(matched) == 1, f"PDB {budget['metadata']['name']} selects {matched}"
        covered.update(matched)
    assert covered == set(deployments)

    for hpa in (obj for obj in objects if obj["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        # The autoscaler owns the count: a fixed replicas field would fight it on every apply.
        assert "replicas" not in deployments[target["name"]]["spec"]
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert any(m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    # Scaled on load: the gateway and the workers; every other service runs a fixed count.
    autoscaled = {
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in objects if hpa["kind"] == "HorizontalPodAutoscaler"
    }
    assert autoscaled == {"paved-gateway", "paved-provisioning-worker"}


def test_production_runs_several_replicas_and_dev_one(overlays: dict[str, list[Manifest]]) -> None:
    for overlay, expected_min in (("dev", 1), ("production", 2)):
        for obj in overlays[overlay]:
            if obj["kind"] == "Deployment" and "replicas" in obj["spec"]:
                replicas = obj["spec"]["replicas"]
                assert replicas >= expected_min and (overlay == "production" or replicas == 1), obj[
                    "metadata"
                ]
            if obj["kind"] == "HorizontalPodAutoscaler":
                assert obj["spec"]["minReplicas"] >= expected_min
