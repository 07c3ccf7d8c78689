"""Fleet upgrades over the whole suite: thirty services on revision 1 of a golden path, revision 2 adds a
startup probe and raises the memory limit. A dry run plans (the hand-edited one skipped) and changes nothing;
an upgrade whose second wave meets a service with a firing alert halts with the first wave intact and the
report saying why; the rollback restores revision 1; an upgrade of the others succeeds wave by wave with one
commit per service; bad input is a 4xx naming the field and changes nothing."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from click.testing import CliRunner
from conftest import TOKENS
from e2e_suite import Suite, wait_for_operation
from google.protobuf import duration_pb2, timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_client.cli import main
from test_template_drift import _create, _documents, _edit_replicas_by_hand

COUNT = 30


def _log(suite: Suite) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(suite.gitops_repository), "log", "--format=%H %s", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.splitlines()


def _revisions(admin: httpx.Client, names: list[str]) -> dict[str, int]:
    found = {}
    for name in names:
        body = admin.get(f"/api/services/{name}/drift").json()
        found[name] = body["environments"][0]["revision"]
    return found


def _fire_alert(suite: Suite, service: str) -> None:
    """A rule of the service's own that fires at once, and the error rate that makes it fire."""
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        alerting = alerting_pb2_grpc.AlertingServiceStub(channel)
        alerting.CreateAlertRule(
            alerting_pb2.CreateAlertRuleRequest(
                alert_rule=alerting_pb2.AlertRule(
                    service=service,
                    team="payments",
                    display_name="Upgrade canary errors",
                    condition=alerting_pb2.Condition(
                        metric="error_rate", operator=alerting_pb2.OPERATOR_GREATER_THAN, threshold=0.5
                    ),
                    for_duration=duration_pb2.Duration(seconds=0),
                    severity=alerting_pb2.SEVERITY_CRITICAL,
                    enabled=True,
                )
            )
        )
        sample = alerting_pb2.MetricSample(
            service=service,
            metric="error_rate",
            value=0.9,
            time=timestamp_pb2.Timestamp(seconds=int(time.time())),
        )
        alerting.IngestSamples(iter([alerting_pb2.IngestSamplesRequest(samples=[sample])]), timeout=30)
        alerting.EvaluateRules(alerting_pb2.EvaluateRulesRequest())
        health = alerting.GetServiceHealth(alerting_pb2.GetServiceHealthRequest(service=service))
        assert [a.display_name for a in health.firing_alerts] == ["Upgrade canary errors"]


def test_waves_halt_rollback_and_success(
    suite: Suite,
    admin: httpx.Client,
    payments: httpx.Client,
    search: httpx.Client,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    template = f"fleet-{uuid.uuid4().hex[:8]}"
    first, second = _documents(template)
    with grpc.insecure_channel(suite.address("catalog")) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        created = catalog.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=first))
        names = sorted(unique_name("fleet") for _ in range(COUNT))
        for name in names:
            _create(payments, name, template, 2)
        catalog.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(
                name=f"templates/{template}", document=second, etag=created.etag
            )
        )
    edited = names[-1]
    _edit_replicas_by_hand(suite, tmp_path / "work", edited, 4)
    url = f"/api/templates/{template}/upgrades"

    # Bad input: a 4xx naming the field, nothing started.
    before = _log(suite)
    for body, status, field in (
        ({"to_revision": 9}, 404, "revision 9"),
        ({"waves": ["rest", 1]}, 400, "waves[0]"),
        ({"waves": ["150%"]}, 400, "waves[0]"),
        ({"selector": {"services": ["no-such-service"]}}, 400, "selector"),
        ({"to_revision": 1}, 400, "to_revision"),
        ({"bake_seconds": -1}, 400, "bake_seconds"),
    ):
        refused = admin.post(url, json=body)
        assert refused.status_code == status and field in refused.text, (body, refused.text)
    assert search.post(url, json={"dry_run": True}).status_code == 400  # no service of search's is behind

    # Dry run: the whole plan, nothing changed.
    dry = admin.post(url, json={"dry_run": True})  # the default waves: 1, 10 %, the rest
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert (plan["to_revision"], plan["operation"], plan["target_count"]) == (2, None, COUNT - 1)
    assert [[t["service"] for t in wave] for wave in plan["waves"]] == [names[:1], names[1:4], names[4:-1]]
    assert [(s["service"], s["reason"]) for s in plan["skipped"]] == [(edited, "hand_edited")]
    target = plan["waves"][0][0]
    assert target["counts"] == {"added": 0, "changed": 1, "removed": 0} and target["policy"] == "ALLOW"
    assert target["monthly_cost_before"] > 0 and "monthly_cost_delta" in target
    assert _log(suite) == before
    assert set(_revisions(admin, names).values()) == {1}

    # A service in wave 2 with a firing alert halts the rollout; wave 1 stays upgraded.
    _fire_alert(suite, names[2])
    # A bake keeps the rollout running while the second request arrives (without one, wave 1 can be
    # done and wave 2 halted before it is sent).
    started = admin.post(url, json={"bake_seconds": 3})
    assert started.status_code == 202, started.text
    halted_id = started.json()["id"]
    busy = admin.post(url, json={})
    assert busy.status_code == 409 and "template" in busy.text, busy.text
    done = wait_for_operation(admin, started.json()["operation"], timeout=120)
    assert done["status"] == "failed", done
    report = admin.get(f"{url}/{halted_id}").json()
    assert [w["state"] for w in report["waves"]] == ["succeeded", "failed", "pending"]
    assert [e["service"] for e in report["upgraded"]] == [names[0], names[1], names[3]]
    [failure] = report["failed"]
    assert failure["service"] == names[2] and failure["wave"] == 2
    assert "Upgrade canary errors" in failure["reason"] and "restored to revision 1" in failure["reason"]
    assert "halted in wave 2" in report["error"] and "failure budget of 0" in report["error"]
    assert [e["service"] for e in report["skipped"]] == [edited]
    assert _revisions(admin, names) == {**dict.fromkeys(names, 1), names[0]: 2, names[1]: 2, names[3]: 2}
    halted_commits = [line.split(" ", 1)[1] for line in _log(suite)[: len(_log(suite)) - len(before)]]
    # names[0]; names[1], names[2] and names[3] (names[2] before its bake failed); then names[2] restored.
    # (the targets of a wave move at once: their commits land in any order)
    moves = [m.split(" ", 2)[:2] for m in halted_commits]
    assert moves[0] == ["Restore", names[2]] and moves[-1] == ["Upgrade", names[0]]
    assert sorted(map(tuple, moves[1:4])) == [("Upgrade", n) for n in names[1:4]]

    # Rollback restores revision 1 on the upgraded ones.
    rolled = admin.post(f"{url}/{halted_id}/rollback")
    assert rolled.status_code == 202, rolled.text
    assert wait_for_operation(admin, rolled.json()["operation"])["status"] == "succeeded"
    restored = admin.get(f"{url}/{rolled.json()['id']}").json()
    assert sorted(e["service"] for e in restored["restored"]) == [names[0], names[1], names[3]]
    assert set(_revisions(admin, names).values()) == {1}

    # The others (not the failing one, not the hand-edited one), three waves, one commit per service;
    # watched from the CLI.
    chosen = [n for n in names if n not in (names[2], edited)]
    mark = len(_log(suite))
    selectors = [arg for name in chosen for arg in ("--service", name)]
    result = CliRunner().invoke(
        main,
        ["templates", "upgrade", template, "--waves", "1,1,rest", *selectors, "--wait"],
        env={"PAVED_URL": suite.gateway_url, "PAVED_TOKEN": str(TOKENS["admin"]["token"])},
    )
    assert result.exit_code == 0, result.output
    assert f"{len(chosen)} upgraded, 0 skipped, 0 failed" in result.output
    new = _log(suite)[: len(_log(suite)) - mark]
    assert len(new) == len(chosen)
    assert all(line.split(" ", 2)[1] == "Upgrade" and "revision 2" in line for line in new)
    assert sorted(line.split(" ", 3)[2] for line in new) == chosen
    assert _revisions(admin, names) == {**dict.fromkeys(names, 1), **dict.fromkeys(chosen, 2)}

    # Moving them back needs allow_downgrade.
    down = admin.post(url, json={"to_revision": 1, "selector": {"services": [names[0]]}})
    assert down.status_code == 400 and "allow_downgrade" in down.text, down.text
    dry_down = admin.post(
        url,
        json={
            "to_revision": 1,
            "allow_downgrade": True,
            "dry_run": True,
            "selector": {"services": [names[0]]},
        },
    )
    assert dry_down.status_code == 200 and dry_down.json()["target_count"] == 1, dry_down.text
