"""Request validation names every bad field at once."""

from __future__ import annotations

import pytest
from paved_kit.errors import InvalidArgument
from paved_provisioning.validation import Violations, check_plan, service_from_name


def test_every_problem_of_a_plan_is_reported() -> None:
    v = Violations()
    check_plan(
        v,
        "plan",
        {
            "service_name": "Bad_Name",
            "team": "",
            "environment": "prod",
            "resources": [{"name": "a", "type": "compute"}, {"name": "a", "type": ""}],
        },
    )
    with pytest.raises(InvalidArgument) as err:
        v.raise_if_any()
    assert [f.field for f in err.value.field_violations] == [
        "plan.service_name",
        "plan.team",
        "plan.resources[1].name",
        "plan.resources[1].type",
    ]


def test_missing_plan() -> None:
    v = Violations()
    check_plan(v, "plan", None)
    assert [f.field for f in v.items] == ["plan"]


def test_service_names() -> None:
    v = Violations()
    assert service_from_name(v, "service", "services/orders") == "orders"
    assert service_from_name(v, "service", "orders") == ""
    assert [f.field for f in v.items] == ["service"]
