"""The gateway commands of the ``paved`` CLI; ``register`` adds them to the top-level group."""

from __future__ import annotations

import click

from paved_client.commands import (
    alerts,
    anomalies,
    costs,
    metrics,
    operations,
    optimize,
    policies,
    promotions,
    scorecard,
    services,
    templates,
    upgrades,
)


def register(group: click.Group) -> None:
    """Add every gateway command to ``group``."""
    templates.templates.add_command(upgrades.upgrade)
    for command in (
        services.create,
        services.status,
        services.list_services,
        services.deploy,
        services.rollback,
        promotions.promote,
        costs.costs,
        templates.templates,
        policies.policies,
        alerts.alerts,
        operations.ops,
        upgrades.upgrades,
        metrics.metrics,
        scorecard.scorecard,
        optimize.optimize,
        anomalies.anomalies,
        anomalies.forecast,
        anomalies.cost_anomalies,
    ):
        group.add_command(command)
