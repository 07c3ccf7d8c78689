"""The NetworkPolicies, evaluated as Kubernetes does, admit exactly the calls the design has and no other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

Manifest = dict[str, Any]
OVERLAYS = ("dev", "production")
COMPONENTS = ("gateway", "catalog", "provisioning", "provisioning-worker", "policy", "cost", "alerting")
GRPC_PORTS = {"catalog": 50051, "provisioning": 50052, "policy": 50053, "cost": 50054, "alerting": 50055}
ALLOWED_CALLS = {
    ("gateway", "catalog"),
    ("gateway", "provisioning"),
    ("gateway", "policy"),
    ("gateway", "cost"),
    ("gateway", "alerting"),
    ("provisioning", "catalog"),
    ("provisioning", "alerting"),
    ("provisioning", "cost"),
    # Guardrails of automatic rightsizing.
    ("provisioning", "policy"),
    ("provisioning-worker", "catalog"),
    ("provisioning-worker", "alerting"),
    ("provisioning-worker", "cost"),
    ("cost", "provisioning"),
    ("cost", "alerting"),
    # Scorecard facts, reported best-effort.
    ("policy", "catalog"),
    ("cost", "catalog"),
    ("alerting", "catalog"),
    # The changes behind an anomaly (its likely cause).
    ("alerting", "provisioning"),
}


@dataclass(frozen=True)
class Pod:
    """What NetworkPolicy matching needs of a pod: its labels and its named container ports."""

    name: str
    labels: dict[str, str]
    ports: dict[str, int]


def _selects(selector: Manifest, labels: dict[str, str]) -> bool:
    # Our policies use matchLabels only; an empty selector selects every pod.
    assert set(selector) <= {"matchLabels"}, f"unsupported selector {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def _port_matches(rule_ports: list[Manifest] | None, port: int, protocol: str, named: dict[str, int]) -> bool:
    if not rule_ports:
        return True
    for item in rule_ports:
        if item.get("protocol", "TCP") != protocol:
            continue
        wanted = item.get("port")
        if wanted is None or wanted == port or (isinstance(wanted, str) and named.get(wanted) == port):
            return True
    return False


def _peer_matches(peers: list[Manifest] | None, other: Pod | None) -> bool:
    """``other`` is a pod in our namespace, or None for a destination outside the cluster."""
    if peers is None:
        return True
    for peer in peers:
        if other is not None and set(peer) == {"podSelector"} and _selects(peer["podSelector"], other.labels):
            return True
        if other is None and "ipBlock" in peer:
            return True
    return False


class Network:
    """Decides whether a connection is admitted by every NetworkPolicy in one namespace."""

    def __init__(self, objects: list[Manifest]) -> None:
        self.policies = [obj["spec"] for obj in objects if obj["kind"] == "NetworkPolicy"]

    def _side_allows(
        self, pod: Pod, direction: str, peer: Pod | None, port: int, protocol: str, dest: Pod | None
    ) -> bool:
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        selecting = [
            p
            for p in self.policies
            if direction in p["policyTypes"] and _selects(p["podSelector"], pod.labels)
        ]
        if not selecting:
            return True  # not isolated in this direction
        named = dest.ports if dest is not None else {}
        return any(
            _peer_matches(rule.get(peers_key), peer)
            and _port_matches(rule.get("ports"), port, protocol, named)
            for policy in selecting
            for rule in policy.get(key) or []
        )

    def allows(self, source: Pod, dest: Pod, port: int, protocol: str = "TCP") -> bool:
        return self._side_allows(source, "Egress", dest, port, protocol, dest) and self._side_allows(
            dest, "Ingress", source, port, protocol, dest
        )

    def allows_outside(self, source: Pod, port: int, protocol: str = "TCP") -> bool:
        """Egress from ``source`` to an address outside the cluster."""
        return self._side_allows(source, "Egress", None, port, protocol, None)


def pods(objects: list[Manifest]) -> dict[str, Pod]:
    result = {}
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            template = obj["spec"]["template"]
            ports = {
                p["name"]: p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
                if "name" in p
            }
            name = obj["metadata"]["name"].removeprefix("paved-")
            result[name] = Pod(name, template["metadata"]["labels"], ports)
    return result


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_designed_calls_are_admitted(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    network, everyone = Network(overlays[overlay]), pods(overlays[overlay])
    admitted = {
        (source, dest)
        for source in COMPONENTS
        for dest, port in GRPC_PORTS.items()
        if source != dest and network.allows(everyone[source], everyone[dest], port)
    }
    assert admitted == ALLOWED_CALLS
    # Nobody but the ingress controller (another namespace) reaches the gateway; nobody reaches the worker.
    for source in everyone.values():
        assert not network.allows(source, everyone["gateway"], 8080), source.name
        assert not network.allows(source, everyone["provisioning-worker"], 50052), source.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_reaches_dns_and_postgresql(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    network, everyone = Network(overlays[overlay]), pods(overlays[overlay])
    for pod in everyone.values():
        assert network.allows_outside(pod, 53, "UDP") and network.allows_outside(pod, 53, "TCP"), pod.name
        assert network.allows_outside(pod, 5432), pod.name
        assert not network.allows_outside(pod, 6379), pod.name  # and nothing unlisted


def test_in_dev_the_services_and_migrations_reach_the_bundled_postgres(
    overlays: dict[str, list[Manifest]],
) -> None:
    network, everyone = Network(overlays["dev"]), pods(overlays["dev"])
    postgres = everyone.pop("postgres")
    for pod in everyone.values():
        assert network.allows(pod, postgres, 5432), pod.name
        assert not network.allows(postgres, pod, next(iter(pod.ports.values()), 50051)), pod.name


def test_only_the_services_that_need_the_internet_get_it(overlays: dict[str, list[Manifest]]) -> None:
    network, everyone = Network(overlays["production"]), pods(overlays["production"])
    https = {name for name, pod in everyone.items() if network.allows_outside(pod, 443)}
    # The GitOps remote (provisioning) and notification webhooks (alerting).
    assert https == {"provisioning", "provisioning-worker", "alerting"}


def test_the_evaluator_denies_by_default_and_honours_named_ports() -> None:
    a = Pod("a", {"app": "a"}, {})
    b = Pod("b", {"app": "b"}, {"grpc": 9000})
    assert Network([]).allows(a, b, 9000)
    deny = {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert not Network([deny]).allows(a, b, 9000)
    allow = [
        deny,
        {
            "kind": "NetworkPolicy",
            "spec": {
                "podSelector": {"matchLabels": {"app": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}]}],
            },
        },
        {
            "kind": "NetworkPolicy",
            "spec": {
                "podSelector": {"matchLabels": {"app": "b"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": "grpc"}]}],
            },
        },
    ]
    assert Network(allow).allows(a, b, 9000)
    assert not Network(allow).allows(a, b, 9001)
    assert not Network(allow).allows(b, a, 9000)
