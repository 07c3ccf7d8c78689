"""Platform inputs people give (developer NPS, support tickets) over real gRPC: recorded with their time and
author, validated with field violations, kept apart from the services' scorecards."""

from __future__ import annotations

from typing import Any

import grpc
from paved.catalog.v1 import catalog_pb2


def _set(
    name: str, value: float, set_by: str = "dana", note: str = ""
) -> catalog_pb2.SetPlatformInputRequest:
    return catalog_pb2.SetPlatformInputRequest(
        platform_input=catalog_pb2.PlatformInput(name=name, value=value, set_by=set_by, note=note)
    )


async def test_inputs_are_recorded_with_time_and_author(catalog: Any) -> None:
    empty = await catalog.stub.ListPlatformInputs(catalog_pb2.ListPlatformInputsRequest())
    assert list(empty.platform_inputs) == []

    nps = await catalog.stub.SetPlatformInput(_set("platformInputs/developer-nps", 31.5, note="Q3 survey"))
    assert nps.name == "platformInputs/developer-nps" and nps.value == 31.5 and nps.set_by == "dana"
    assert nps.set_time.seconds > 0 and nps.note == "Q3 survey"
    await catalog.stub.SetPlatformInput(_set("support-tickets", 42, set_by="erin"))
    again = await catalog.stub.SetPlatformInput(_set("platformInputs/developer-nps", 40))

    listed = await catalog.stub.ListPlatformInputs(catalog_pb2.ListPlatformInputsRequest())
    by_name = {i.name: i for i in listed.platform_inputs}
    assert set(by_name) == {"platformInputs/developer-nps", "platformInputs/support-tickets"}
    assert by_name["platformInputs/developer-nps"].value == 40
    assert by_name["platformInputs/developer-nps"].set_time == again.set_time
    assert by_name["platformInputs/support-tickets"].set_by == "erin"

    # Not a service: the platform's scorecards do not see the inputs.
    summary = await catalog.stub.SummarizeScorecards(catalog_pb2.SummarizeScorecardsRequest())
    assert list(summary.scorecards) == []


async def test_bad_inputs_name_the_field_and_change_nothing(catalog: Any, failing: Any) -> None:
    bad = await failing(catalog.stub.SetPlatformInput(_set("platformInputs/happiness", 1, set_by="")))
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in bad.field_violations} == {"platform_input.name", "platform_input.set_by"}
    out_of_range = await failing(catalog.stub.SetPlatformInput(_set("developer-nps", 101)))
    assert [v.field for v in out_of_range.field_violations] == ["platform_input.value"]
    fractional = await failing(catalog.stub.SetPlatformInput(_set("support-tickets", 2.5)))
    assert "whole number" in fractional.field_violations[0].description
    listed = await catalog.stub.ListPlatformInputs(catalog_pb2.ListPlatformInputsRequest())
    assert list(listed.platform_inputs) == []
