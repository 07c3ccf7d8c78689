"""The plan sent to peers: the same message json_format gives, a fresh copy on every call, and from the wire
form a submission kept only while the plan is the one it was kept for."""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf import json_format
from paved.common.v1 import common_pb2
from paved_kit.structs import integral
from paved_provisioning.plan_wire import plan_message, plan_wire

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


def _submitted(**kwargs: object) -> tuple[dict[str, object], common_pb2.Plan]:
    """A plan as a submission has it: the request's message, and the dict the servicer makes of it."""
    message = json_format.ParseDict(plan_dict(**kwargs), common_pb2.Plan())  # type: ignore[arg-type]
    return integral(json_format.MessageToDict(message, preserving_proto_field_name=True)), message


def test_the_kept_wire_form_is_what_parsing_the_plan_gives() -> None:
    plan, message = _submitted(service="wired", max_instances=7)
    wire = plan_wire(plan, message)
    assert plan_message(plan, wire) == message
    assert plan_message(plan, wire) == json_format.ParseDict(plan, common_pb2.Plan())


def test_the_kept_wire_form_is_used_while_the_plan_is_unchanged_and_only_then() -> None:
    plan, message = _submitted(service="kept")
    other, other_message = _submitted(service="other")
    # The wire form of another message, kept for this plan: what comes back shows which one was used.
    swapped = {**plan_wire(plan, message), "bytes": plan_wire(other, other_message)["bytes"]}
    assert plan_message(plan, swapped).service_name == "other"
    plan["service_name"] = "changed"
    assert plan_message(plan, swapped).service_name == "changed"


def test_fields_unknown_to_the_plan_are_not_kept() -> None:
    plan, message = _submitted(service="unknown")
    extended = common_pb2.Plan.FromString(message.SerializeToString() + b"\xf8\x3f\x01")  # field 1023
    kept = plan_message(plan, plan_wire(plan, extended))
    assert kept.SerializeToString(deterministic=True) == message.SerializeToString(deterministic=True)
