"""Bake-time judgement and the resource change applied to a plan."""

from __future__ import annotations

from typing import Any

import pytest
from paved_provisioning.bake import Signals, regression
from paved_provisioning.resource_change import ResourceChange, with_resources

BASE = Signals(error_rate=0.002, latency_p99=200.0, firing=frozenset({"Known"}))


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (Signals(error_rate=0.004, latency_p99=240.0, firing=frozenset({"Known"})), None),
        (Signals(error_rate=0.02), "error rate 2.00% against 0.20% before the change (allowed 1.20%)"),
        (Signals(latency_p99=320.0), "p99 latency 320 ms against 200 ms before the change (allowed 300 ms)"),
        (Signals(oom_kills=1), "1 OOM kill(s) since the change"),
        (
            Signals(firing=frozenset({"Known", "High Error Rate"})),
            "alert(s) firing since the change: High Error Rate",
        ),
        (Signals(throttling=0.3), "CPU throttled in 30% of periods since the change"),
        (Signals(), None),  # no data: nothing to judge, no regression
    ],
)
def test_regressions_name_what_got_worse(now: Signals, reason: str | None) -> None:
    assert regression(BASE, now) == reason


def test_signals_survive_storage() -> None:
    assert Signals.from_dict(BASE.as_dict()) == BASE


def plan() -> dict[str, Any]:
    container = {"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "checkout"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "checkout"},
        "spec": {"minReplicas": 2, "maxReplicas": 10},
    }
    compute = {
        "name": "compute",
        "type": "compute",
        "properties": {"cpu_request": "250m"},
        "manifests": [deployment, hpa],
    }
    return {"service_name": "checkout", "resources": [compute]}


def test_the_change_reaches_containers_autoscaler_and_properties() -> None:
    before = plan()
    after = with_resources(
        before, "compute", ResourceChange(cpu_request="125m", memory_limit="400Mi", min_replicas=3)
    )
    compute = after["resources"][0]
    resources = compute["manifests"][0]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "125m", "memory": "256Mi"}, "limits": {"memory": "400Mi"}}
    assert compute["manifests"][1]["spec"] == {"minReplicas": 3, "maxReplicas": 10}
    assert compute["properties"]["cpu_request"] == "125m" and compute["properties"]["min_instances"] == 3
    assert before == plan()  # the input is not changed
    with pytest.raises(KeyError):
        with_resources(before, "nope", ResourceChange(cpu_request="1"))


def test_bad_changes_name_every_field() -> None:
    fields = {
        v.field for v in ResourceChange(cpu_request="lots", memory_limit="1 GB", max_replicas=-1).violations()
    }
    assert fields == {"cpu_request", "memory_limit", "max_replicas"}
    assert [v.field for v in ResourceChange().violations()] == ["cpu_request"]
    assert [v.field for v in ResourceChange(min_replicas=5, max_replicas=2).violations()] == ["max_replicas"]
