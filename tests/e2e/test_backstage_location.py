"""Entities name the location Backstage reads them from: the gateway's address as the caller used it."""

from __future__ import annotations

import time

import httpx
import yaml
from e2e_suite import Suite


def test_managed_by_location_is_the_gateway_the_caller_used(
    suite: Suite, payments: httpx.Client, unique_name
) -> None:  # type: ignore[no-untyped-def]
    name = unique_name("located")
    created = payments.post(
        "/api/services",
        json={"name": name, "team": "payments", "template": "web-service", "parameters": {"language": "go"}},
    )
    assert created.status_code == 202, created.text
    operation = created.json()["operation"].removeprefix("operations/")
    deadline = time.monotonic() + 90
    while not payments.get(f"/api/operations/{operation}").json()["done"]:
        assert time.monotonic() < deadline, "provisioning did not finish in 90 s"
        time.sleep(0.5)
    url = f"{suite.gateway_url}/api/services/{name}/catalog-info.yaml"
    entities = list(yaml.safe_load_all(payments.get(url).text))
    assert entities, "the service's entities are exported once it is registered"
    for entity in entities:
        assert entity["metadata"]["annotations"]["backstage.io/managed-by-location"] == f"url:{url}"
