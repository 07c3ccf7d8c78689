"""A fleet template upgrade is one operation keyed by its template, yet each service it moved can find its
part: provisioning lists the service's deployments of the upgrade workflow with the template and revision,
and alerting's change log (over a real channel to this provisioning server) names it as a likely cause."""

from __future__ import annotations

import time

import pytest
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_alerting.change_log import ChangeLog
from paved_alerting.changes import describe, likely_causes
from paved_alerting.settings import AlertingSettings
from provisioning_harness import HarnessFactory
from provisioning_plans import plan_dict

pytestmark = pytest.mark.timeout(90)


async def test_a_template_upgrade_is_a_change_of_each_service_it_moved(
    harness_factory: HarnessFactory, database_url: str
) -> None:
    h = await harness_factory()
    provisioned = await h.wait((await h.provision()).name)
    assert provisioned.done and not provisioned.HasField("error"), provisioned.error
    before = time.time() - 1

    # What a wave step records for each target it committed (the upgrade operation's subject is the
    # template, not the service).
    upgraded = {**plan_dict(image="registry.paved.dev/payments/orders:1.1.0"), "template_revision": 2}
    target = {"service": "orders", "environment": "production", "plan": upgraded}
    await h.parts.provisioner.record_upgrade("upgrade1", target, "c0ffee", "template_upgrade")

    listed = await h.stub.ListDeployments(
        pb.ListDeploymentsRequest(parent="services/orders", filter='workflow = "template_upgrade"')
    )
    assert [(d.operation, d.template, d.template_revision) for d in listed.deployments] == [
        ("operations/upgrade1", "templates/microservice", 2)
    ]
    # The workflow filter runs in the query: a page of one still says more follow only when they do.
    one = await h.stub.ListDeployments(pb.ListDeploymentsRequest(parent="services/orders", page_size=1))
    assert len(one.deployments) == 1 and one.next_page_token
    only = await h.stub.ListDeployments(
        pb.ListDeploymentsRequest(
            parent="services/orders", page_size=1, filter='workflow = "template_upgrade"'
        )
    )
    assert len(only.deployments) == 1 and not only.next_page_token

    log = ChangeLog(
        AlertingSettings(database_url=database_url, port=0, provisioning_address=h.server.address)
    )
    try:
        changes = await log.changes_of("orders", before)
    finally:
        await log.close()
    upgrades = [c for c in changes if c.kind == "template_upgrade"]
    assert len(upgrades) == 1, changes
    assert upgrades[0].operation == "operations/upgrade1"
    assert (upgrades[0].template, upgrades[0].template_revision) == ("templates/microservice", 2)
    assert upgrades[0].environment == "production" and upgrades[0].state == "succeeded"

    causes = likely_causes(changes, time.time() + 60, 3600.0)
    assert causes[0].change.kind == "template_upgrade", causes
    assert describe(causes[0]).startswith(
        "template upgrade operations/upgrade1 to templates/microservice revision 2 (production)"
    )
