"""Executors: Kubernetes schema validation, CI command, health probes; SKIPPED when nothing is configured."""

from __future__ import annotations

import sys

import pytest
from paved_provisioning import executors, steps
from paved_provisioning.steps import StepError

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "orders"},
    "spec": {
        "selector": {"matchLabels": {"app": "orders"}},
        "template": {
            "metadata": {"labels": {"app": "orders"}},
            "spec": {"containers": [{"name": "orders", "image": "orders:1"}]},
        },
    },
}


def test_valid_manifests_pass_and_custom_resources_are_reported() -> None:
    crd = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"}}
    outcome = executors.validate_kubernetes([DEPLOYMENT, crd])
    assert not outcome.skipped
    assert "1 manifest(s) valid" in outcome.detail and "ServiceMonitor/m" in outcome.detail


def test_invalid_manifest_fails_permanently_naming_the_path() -> None:
    bad = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": "three"}}
    with pytest.raises(StepError) as err:
        executors.validate_kubernetes([bad])
    assert not err.value.retryable
    assert "Deployment/orders" in err.value.message and "spec/replicas" in err.value.message


def test_no_manifests_is_skipped() -> None:
    assert executors.validate_kubernetes([]).skipped


async def test_ci_without_configuration_is_skipped() -> None:
    outcome = await executors.run_ci(
        "run_tests", {}, webhook_url=None, webhook_token=None, command=None, timeout=5
    )
    assert outcome.skipped and "no CI webhook or command configured" in outcome.detail


async def test_ci_command_passes_and_fails_on_its_exit_status() -> None:
    ok = await executors.run_ci(
        "build_image",
        {"version": "1.0"},
        webhook_url=None,
        webhook_token=None,
        command=f"{sys.executable} -c \"import os; print(os.environ['PAVED_STEP'])\"",
        timeout=30,
    )
    assert not ok.skipped and ok.output["output"] == "build_image"
    with pytest.raises(StepError) as err:
        await executors.run_ci(
            "run_tests",
            {},
            webhook_url=None,
            webhook_token=None,
            command=f"{sys.executable} -c 'exit(3)'",
            timeout=30,
        )
    assert "exited with 3" in err.value.message


async def test_health_probe_sources() -> None:
    async def healthy(service: str, environment: str) -> str:
        return "HEALTH_STATUS_HEALTHY"

    async def down(service: str, environment: str) -> str:
        return "HEALTH_STATUS_DOWN"

    async def unknown(service: str, environment: str) -> str:
        return "HEALTH_STATUS_UNKNOWN"

    none = await executors.probe_health(
        "s", "e", url_template=None, via_alerting=False, alerting_health=healthy
    )
    assert none.skipped
    ok = await executors.probe_health("s", "e", url_template=None, via_alerting=True, alerting_health=healthy)
    assert not ok.skipped
    assert (
        await executors.probe_health("s", "e", url_template=None, via_alerting=True, alerting_health=unknown)
    ).skipped
    with pytest.raises(StepError):
        await executors.probe_health("s", "e", url_template=None, via_alerting=True, alerting_health=down)


def test_backoff_grows_and_is_capped() -> None:
    assert [steps.backoff_seconds(a, 0.5, 3) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_workflow_steps_default_when_the_template_declares_none() -> None:
    assert steps.workflow_steps(steps.DEPLOY, None) == steps.DEFAULT_DEPLOY_STEPS
    assert steps.workflow_steps(steps.ROLLBACK, ["verify_health"]) == ("verify_health",)
