"""The platform's workload defaults: filled in where a template is silent, never over its own values."""

from __future__ import annotations

from typing import Any

from paved_catalog import workloads


def _deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "orders"},
        "spec": {
            "selector": {"matchLabels": {"app": "orders"}},
            "template": {
                "metadata": {"labels": {"app": "orders"}},
                "spec": {"containers": [{"name": "app", "image": "x:1", **container}]},
            },
        },
    }


def test_defaults_fill_a_bare_workload_and_add_budget_and_policy() -> None:
    deployment = _deployment()
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {"selector": {"app": "orders"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    extra = workloads.harden([deployment, service], "orders")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    assert container["readinessProbe"]["tcpSocket"] == {"port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert service["spec"]["ports"][0]["name"] == "http"
    budget, policy = extra
    assert budget["kind"] == "PodDisruptionBudget" and budget["spec"]["selector"] == {
        "matchLabels": {"app": "orders"}
    }
    assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_a_template_value_wins_over_the_default() -> None:
    deployment = _deployment(securityContext={"readOnlyRootFilesystem": False, "runAsUser": 20000})
    deployment["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": False}
    workloads.harden([deployment], "orders")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is False
    assert container["securityContext"]["runAsUser"] == 20000
    assert "volumeMounts" not in container
    assert pod["securityContext"]["runAsNonRoot"] is False


def test_existing_budget_is_not_duplicated() -> None:
    deployment = _deployment()
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "orders"},
        "spec": {},
    }
    extra = workloads.harden([deployment, budget], "orders")
    assert [o["kind"] for o in extra] == ["NetworkPolicy"]
