"""Rendering a plan for the GitOps directory: manifests, kustomization, Terraform, docs, canary, resizing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from paved_provisioning import manifests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "provisioning"))
from provisioning_plans import plan_dict

SITE = manifests.SiteConfig()
BASE = "services/payments/orders/production"


def test_files_live_under_team_service_environment() -> None:
    files = manifests.render_files(plan_dict(), SITE)
    assert all(path.startswith(BASE + "/") for path in files)
    kustomization = yaml.safe_load(files[f"{BASE}/kustomization.yaml"])
    assert sorted(kustomization["resources"]) == ["k8s/compute.yaml", "k8s/networking.yaml"]
    assert {f"{BASE}/docs/index.md", f"{BASE}/mkdocs.yml", f"{BASE}/terraform/main.tf.json"} <= set(files)


def test_terraform_carries_tags_encryption_and_observability_flags() -> None:
    doc = manifests.terraform_document(plan_dict())
    module = doc["module"]["orders"]
    assert module["source"] == "./modules/paved-service"
    assert module["tags"] == {
        "cost_center": "cc-42",
        "environment": "production",
        "managed_by": "paved",
        "owner": "payments",
        "service": "orders",
        "team": "payments",
    }
    assert (module["cost_center"], module["owner_team"]) == ("cc-42", "payments")
    assert module["enable_encryption"] is True
    assert (module["enable_monitoring"], module["enable_tracing"]) == (True, False)
    assert (module["instance_type"], module["min_instances"], module["max_instances"]) == ("c5.2xlarge", 2, 3)
    assert module["enable_waf"] is True
    assert doc["resource"]["aws_db_instance"]["orders"]["instance_class"] == "db.r5.large"


def test_unencrypted_data_store_turns_encryption_off_in_the_module() -> None:
    plan = plan_dict()
    plan["resources"][2]["properties"]["encrypted"] = False
    assert manifests.terraform_document(plan)["module"]["orders"]["enable_encryption"] is False


def test_canary_is_a_separate_one_replica_deployment() -> None:
    plan = plan_dict()
    (canary,) = manifests.canary_objects(plan, "registry/orders:2.0")
    assert canary["metadata"]["name"] == "orders-canary"
    assert canary["spec"]["replicas"] == 1
    assert canary["spec"]["selector"]["matchLabels"] == {"app": "orders", "track": "canary"}
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == "registry/orders:2.0"
    # The stable workload is untouched and cannot select canary pods.
    files = manifests.render_files(plan, SITE, canary=[canary])
    stable = next(
        o for o in yaml.safe_load_all(files[f"{BASE}/k8s/compute.yaml"]) if o["kind"] == "Deployment"
    )
    assert stable["spec"]["selector"]["matchLabels"]["track"] == "stable"
    assert "k8s/canary.yaml" in yaml.safe_load(files[f"{BASE}/kustomization.yaml"])["resources"]


def test_with_image_and_version() -> None:
    plan = manifests.with_image(plan_dict(), "registry/orders:3.1.4")
    assert manifests.current_image(plan) == "registry/orders:3.1.4"
    assert manifests.version_of("registry:5000/team/orders:3.1.4") == "3.1.4"
    assert manifests.version_of("registry:5000/team/orders") == "latest"


def test_with_instance_type_changes_properties_and_node_selector() -> None:
    original = plan_dict()
    plan = manifests.with_instance_type(original, "compute", "c5.xlarge")
    compute = plan["resources"][0]
    assert compute["properties"]["instance_type"] == "c5.xlarge"
    pod = compute["manifests"][0]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {manifests.INSTANCE_TYPE_LABEL: "c5.xlarge"}
    assert original["resources"][0]["properties"]["instance_type"] == "c5.2xlarge"


def test_links_and_docs() -> None:
    link = manifests.links(plan_dict(), SITE)
    assert link.endpoints[0] == "https://orders.example.com"
    assert link.endpoints[1] == "http://orders.production.svc.cluster.local:8080"
    assert link.dashboards == [("RED", "https://grafana.paved.dev/d/red?var-service=orders")]
    page = manifests.documentation(plan_dict(), SITE)
    assert "https://orders.example.com" in page and "High Error Rate" in page


def test_platform_specs_are_not_kubernetes_objects() -> None:
    plan = plan_dict()
    plan["resources"][3]["manifests"] = [
        {"apiVersion": "observability.paved.dev/v1", "kind": "AlertRules", "metadata": {"name": "x"}}
    ]
    assert all(obj["kind"] != "AlertRules" for _, obj in manifests.kubernetes_objects(plan))
    files = manifests.render_files(plan, SITE)
    spec = yaml.safe_load(files[f"{BASE}/observability/observability.yaml"])
    assert spec["manifests"][0]["kind"] == "AlertRules"
    assert json.loads(files[f"{BASE}/terraform/main.tf.json"])


def test_dashboards_keep_the_title_and_url_the_catalog_rendered() -> None:
    plan = plan_dict()
    plan["resources"][3]["properties"]["dashboards"] = [
        {"title": "orders overview", "url": "https://grafana.example/d/paved-orders/orders-overview"}
    ]
    link = manifests.links(plan, SITE)
    assert link.dashboards == [("orders overview", "https://grafana.example/d/paved-orders/orders-overview")]
    page = manifests.documentation(plan, SITE)
    assert "[orders overview](https://grafana.example/d/paved-orders/orders-overview)" in page
    assert "{'title'" not in page


def test_a_workload_without_service_or_ingress_gets_no_invented_endpoint() -> None:
    plan = plan_dict()
    plan["resources"] = [r for r in plan["resources"] if r["type"] != "networking"]
    compute = plan["resources"][0]
    compute["manifests"] = [m for m in compute["manifests"] if m["kind"] != "Service"]
    assert manifests.links(plan, SITE).endpoints == []
