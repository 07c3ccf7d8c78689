"""The plan sent to peers: the same message json_format gives, a fresh copy on every call."""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf import json_format
from paved.common.v1 import common_pb2
from paved_provisioning.peers import plan_message

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "provisioning"))
from provisioning_plans import plan_dict


def test_plan_message_is_what_json_format_parses() -> None:
    plan = plan_dict()
    expected = json_format.ParseDict(plan, common_pb2.Plan(), ignore_unknown_fields=True)
    assert plan_message(plan) == expected
    assert plan_message(plan) == expected  # the second call, answered from the cache


def test_each_call_returns_its_own_message() -> None:
    plan = plan_dict(service="copies")
    first = plan_message(plan)
    first.service_name = "changed"
    first.resources[0].name = "changed"
    second = plan_message(plan)
    assert second.service_name == "copies"
    assert second.resources[0].name != "changed"


def test_a_changed_plan_is_parsed_again() -> None:
    plan = plan_dict(service="before")
    assert plan_message(plan).service_name == "before"
    plan["service_name"] = "after"
    assert plan_message(plan).service_name == "after"


def test_unknown_fields_are_ignored() -> None:
    plan = {**plan_dict(), "not_a_plan_field": 1}
    assert plan_message(plan).service_name == "orders"
