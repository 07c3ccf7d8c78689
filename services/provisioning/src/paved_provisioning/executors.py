"""Executors that workflow steps are bound to by configuration: Kubernetes schema validation, a CI webhook
or command, and health probes. Each reports SKIPPED with the reason when it has nothing to run."""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Any

from paved_provisioning.steps import StepError, StepOutcome

EXECUTORS = frozenset(
    {
        "kubernetes-validate",
        "ci",
        "health",
        "gitops-canary",
        "gitops-promote",
        "deployment-history",
        "gitops-rollback",
        "none",
    }
)


@cache
def _latest_kubernetes_version() -> str:
    """The newest Kubernetes release whose schemas are installed (listed once: it reads a directory)."""
    import kubernetes_validate

    return str(kubernetes_validate.latest_version())


def validate_kubernetes(objects: Iterable[dict[str, Any]]) -> StepOutcome:
    """Validate every object against the Kubernetes OpenAPI schemas (strict: unknown fields are errors)."""
    # Imported on first use: it loads jsonschema (~60 ms of start-up), which only this step needs.
    import kubernetes_validate

    version = _latest_kubernetes_version()
    problems: list[str] = []
    custom: list[str] = []
    checked = 0
    for obj in objects:
        label = f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
            checked += 1
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path) or "(root)"
            problems.append(f"{label}: {exc.message} at {where}")
        except kubernetes_validate.SchemaNotFoundError:
            # A custom resource: the cluster's CRD validates it, there is no built-in schema here.
            custom.append(label)
    if problems:
        raise StepError("invalid manifests: " + "; ".join(problems[:10]), retryable=False)
    if not checked:
        return StepOutcome("the plan has no Kubernetes manifests to validate", skipped=True)
    detail = f"{checked} manifest(s) valid against Kubernetes {version} schemas"
    if custom:
        detail += f"; {len(custom)} custom resource(s) not checked: {', '.join(custom[:5])}"
    return StepOutcome(detail, {"checked": checked, "custom": custom})


async def run_ci(
    step: str,
    facts: dict[str, str],
    *,
    webhook_url: str | None,
    webhook_token: str | None,
    command: str | None,
    timeout: float,  # noqa: ASYNC109 - bounds the HTTP call or the command, not this coroutine
) -> StepOutcome:
    """Run a CI step through the configured webhook (POST, 2xx = passed) or command (exit 0 = passed)."""
    if webhook_url:
        import httpx  # here, not at import: httpx loads its command line (click, rich, pygments) with it

        headers = {"Authorization": f"Bearer {webhook_token}"} if webhook_token else {}
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(webhook_url, json={"step": step, **facts}, headers=headers)
        except httpx.HTTPError as exc:
            raise StepError(f"CI webhook unreachable: {type(exc).__name__}") from None
        if response.is_success:
            return StepOutcome(
                f"CI webhook answered {response.status_code}", {"status_code": response.status_code}
            )
        raise StepError(f"CI webhook answered {response.status_code}", retryable=response.status_code >= 500)
    if command:
        env = {**os.environ, **{f"PAVED_{k.upper()}": v for k, v in facts.items()}, "PAVED_STEP": step}
        process = await asyncio.create_subprocess_exec(
            *shlex.split(command),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(timeout):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise StepError(f"CI command timed out after {timeout:g}s") from None
        tail = output.decode(errors="replace").strip().splitlines()[-3:]
        if process.returncode == 0:
            return StepOutcome("CI command passed", {"output": "\n".join(tail)})
        raise StepError(f"CI command exited with {process.returncode}: {' | '.join(tail)}", retryable=False)
    return StepOutcome(f"{step}: no CI webhook or command configured", skipped=True)


async def probe_health(
    service: str,
    environment: str,
    *,
    url_template: str | None,
    via_alerting: bool,
    alerting_health: Callable[[str, str], Awaitable[str]],
    timeout: float = 10.0,  # noqa: ASYNC109 - passed to httpx
) -> StepOutcome:
    """Probe the configured health URL, or ask alerting for the service's health in ``environment``."""
    if url_template:
        url = url_template.format(service=service, environment=environment)
        import httpx  # here, not at import: httpx loads its command line (click, rich, pygments) with it

        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            raise StepError(f"health probe failed: {type(exc).__name__}") from None
        if response.is_success:
            return StepOutcome(f"health probe answered {response.status_code}", {"url": url})
        raise StepError(f"health probe answered {response.status_code}")
    if via_alerting:
        status = await alerting_health(service, environment)
        if status == "HEALTH_STATUS_HEALTHY":
            return StepOutcome("alerting reports the service healthy", {"status": status})
        if status in ("HEALTH_STATUS_UNKNOWN", "HEALTH_STATUS_UNSPECIFIED"):
            return StepOutcome(
                "alerting has no health data for the service yet", {"status": status}, skipped=True
            )
        raise StepError(f"alerting reports {status.removeprefix('HEALTH_STATUS_')}")
    return StepOutcome("no health URL configured and alerting health checks are off", skipped=True)
