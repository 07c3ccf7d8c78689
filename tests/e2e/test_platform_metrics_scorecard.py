"""Platform success end to end: a service created through the gateway shows up in the delivery metrics and
its scorecard carries the facts provisioning and policy reported to the catalog over gRPC."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from click.testing import CliRunner
from conftest import TOKENS
from e2e_suite import Suite, wait_for_operation
from paved_client.cli import main

WEB_PARAMS = {"language": "python", "database": "none"}


def _created(client: httpx.Client, name: str) -> None:
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": dict(WEB_PARAMS)}
    response = client.post("/api/services", json=body)
    assert response.status_code == 202, response.text
    operation = wait_for_operation(client, response.json()["operation"])
    assert operation["status"] == "succeeded", operation


def _checks(card: dict[str, object]) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in card["checks"]}  # type: ignore[attr-defined]


def test_scorecard_shows_reported_facts(
    payments: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("ledger")
    _created(payments, name)

    response = payments.get(f"/api/services/{name}/scorecard")
    assert response.status_code == 200, response.text
    card = response.json()
    checks = _checks(card)
    # Reported by provisioning (GitOps commit, deploy time) and policy (no violations in the create's
    # evaluation); documentation and endpoints come from the catalog entry provisioning filled in.
    assert checks["gitops_managed"] and checks["deployed_recently"] and checks["policy_compliant"]
    # Reported by alerting when provisioning had it create the defaults.
    assert checks["default_alerts"], card
    assert checks["has_documentation"] and checks["provisioned"] and checks["has_owner"]
    assert card["level"] >= 2 and card["level_name"]
    assert all(c["remediation"] for c in card["failing"])
    assert {c["id"] for c in card["failing"]} == {k for k, ok in checks.items() if not ok}

    insights = payments.get(f"/api/services/{name}/scorecard/tech-insights").json()
    assert insights["entity"] == f"component:default/{name}"
    by_id = {r["check"]["id"]: r for r in insights["results"]}
    gitops = by_id["paved-gitops-managed"]
    assert gitops["result"] is True
    assert gitops["facts"][gitops["check"]["factIds"][0]]["value"] is True

    team = payments.get("/api/teams/payments/scorecard")
    assert team.status_code == 200, team.text
    body = team.json()
    assert name in {s["service"] for s in body["services"]}
    assert [lv["level"] for lv in body["levels"]] == [0, 1, 2, 3, 4]
    assert 0 < body["check_pass_rates"]["gitops_managed"] <= 1

    platform = payments.get("/api/platform/scorecard")
    assert platform.status_code == 200, platform.text
    view = platform.json()
    assert view["team"] is None and 0 <= view["level"] <= 4
    assert [lv["level"] for lv in view["levels"]] == [0, 1, 2, 3, 4]
    assert name in {s["service"] for s in view["services"]}
    assert {s["team"] for s in view["services"]} == {"payments"}  # only the caller's own services

    assert search.get(f"/api/services/{name}/scorecard").status_code == 403
    assert search.get("/api/teams/payments/scorecard").status_code == 403


def test_platform_metrics_count_what_happened(
    admin: httpx.Client, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    before = admin.get("/api/platform/metrics").json()
    name = unique_name("meter")
    _created(payments, name)
    deploy = payments.post(f"/api/services/{name}/deploy", json={"version": "1.1.0"})
    assert deploy.status_code == 202, deploy.text
    assert wait_for_operation(payments, deploy.json()["operation"])["status"] == "succeeded"

    response = admin.get("/api/platform/metrics")
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["team"] is None and after["window"]["days"] == 30
    assert after["services_created"] == before["services_created"] + 1
    assert after["deployments"] == before["deployments"] + 2  # the provision and the deploy
    assert after["deployments_per_day"]["value"] > 0 and after["deployments_per_day"]["band"]
    assert after["platform_uptime"]["value"] is None and "unavailable" in after["platform_uptime"]["basis"]
    assert 0 < after["self_service_adoption"]["value"] <= 1

    roi = after["roi"]
    names = {t["name"] for t in roi["benefits"]} | {t["name"] for t in roi["costs"]}
    assert {"deployment_time_saved", "service_creation_time_saved", "platform_team"} <= names
    assert round(sum(t["value"] for t in roi["benefits"]), 2) == round(roi["total_benefit"], 2)
    assert round(sum(t["value"] for t in roi["costs"]), 2) == round(roi["total_cost"], 2)
    saved = next(t for t in roi["benefits"] if t["name"] == "service_creation_time_saved")
    # The source design: 8 h per service created at $150/h, 2 h per deployment (a provision counts once,
    # as a service created; failed deployments save nothing).
    assert saved["value"] == after["services_created"] * 8 * 150
    deployed = next(t for t in roi["benefits"] if t["name"] == "deployment_time_saved")
    shipped = after["deployments"] - after["failed_deployments"] - after["services_created"]
    assert deployed["value"] == shipped * 2 * 150 and shipped >= 1
    assert roi["notes"]

    mine = payments.get("/api/platform/metrics").json()
    assert mine["team"] == "payments" and mine["roi"] is None
    assert mine["services_created"] >= 1
    assert payments.get("/api/platform/metrics", params={"team": "search"}).status_code == 403


def test_cli_metrics_and_scorecard(
    suite: Suite, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("cli")
    _created(payments, name)
    runner = CliRunner()
    env = {"PAVED_URL": suite.gateway_url, "COLUMNS": "220"}
    admin = runner.invoke(main, ["metrics", "--token", str(TOKENS["admin"]["token"])], env=env)
    assert admin.exit_code == 0, admin.output
    assert "Deployments per day" in admin.output and "service_creation_time_saved" in admin.output
    assert "ROI" in admin.output

    team = {**env, "PAVED_TOKEN": str(TOKENS["payments"]["token"])}
    card = runner.invoke(main, ["scorecard", name], env=team)
    assert card.exit_code == 0, card.output
    assert "Managed through GitOps" in card.output and "level" in card.output
    rollup = runner.invoke(main, ["scorecard", "--team", "payments"], env=team)
    assert rollup.exit_code == 0, rollup.output
    assert name in rollup.output
    platform = runner.invoke(main, ["scorecard", "--platform"], env=team)
    assert platform.exit_code == 0, platform.output
    assert "Platform" in platform.output and name in platform.output
    as_json = runner.invoke(main, ["scorecard", name, "--json"], env=team)
    assert as_json.exit_code == 0 and '"level"' in as_json.output
    foreign = runner.invoke(main, ["scorecard", "--team", "search"], env=team)
    assert foreign.exit_code != 0 and "403" in foreign.output
    both = runner.invoke(main, ["scorecard", name, "--team", "payments"], env=team)
    assert both.exit_code != 0


def test_admins_set_people_inputs_shown_with_their_date(admin: httpx.Client, payments: httpx.Client) -> None:
    denied = payments.put("/api/platform/inputs/developer-nps", json={"value": 50})
    assert denied.status_code == 403
    bad = admin.put("/api/platform/inputs/developer-nps", json={"value": 150})
    assert bad.status_code == 400, bad.text
    assert [v["field"] for v in bad.json()["error"]["fieldViolations"]] == ["value"]
    assert admin.put("/api/platform/inputs/happiness", json={"value": 1}).status_code == 400

    nps = admin.put("/api/platform/inputs/developer-nps", json={"value": 42, "note": "Q3 survey"})
    assert nps.status_code == 200, nps.text
    assert nps.json()["set_by"] == "platform-bot" and nps.json()["set_time"]
    tickets = admin.put("/api/platform/inputs/support-tickets", json={"value": 17})
    assert tickets.status_code == 200, tickets.text

    listed = payments.get("/api/platform/inputs").json()["inputs"]
    assert {i["input"]: i["value"] for i in listed} == {"developer-nps": 42, "support-tickets": 17}
    metrics = admin.get("/api/platform/metrics").json()
    assert metrics["developer_nps"]["value"] == 42
    assert metrics["developer_nps"]["as_of"] == nps.json()["set_time"]
    assert "Q3 survey" in metrics["developer_nps"]["basis"]
    assert metrics["support_ticket_volume"]["value"] == 17
