"""Registry rules: lifecycle transitions and update masks."""

from __future__ import annotations

import pytest
from paved_catalog.registry import ServiceDraft, State, check_new_service, check_transition, check_update_mask
from paved_kit.errors import FailedPrecondition, InvalidArgument


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (State.PROVISIONING, State.ACTIVE),
        (State.PROVISIONING, State.FAILED),
        (State.ACTIVE, State.DEPROVISIONING),
        (State.FAILED, State.PROVISIONING),
        (State.DEPROVISIONING, State.DELETED),
    ],
)
def test_allowed_transitions(current: State, target: State) -> None:
    check_transition("svc", current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (State.DELETED, State.ACTIVE),
        (State.DELETED, State.PROVISIONING),
        (State.DEPROVISIONING, State.ACTIVE),
    ],
)
def test_forbidden_transitions(current: State, target: State) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        check_transition("svc", current, target)
    assert caught.value.reason == "INVALID_STATE_TRANSITION"
    assert caught.value.precondition_violations[0].subject == "services/svc"


def test_update_mask_rejects_immutable_and_unknown_fields() -> None:
    assert check_update_mask(["state", "endpoints"]) == ["state", "endpoints"]
    with pytest.raises(InvalidArgument) as caught:
        check_update_mask(["template", "colour"])
    descriptions = [v.description for v in caught.value.field_violations]
    assert descriptions[0] == "template cannot be changed" and "unknown field 'colour'" in descriptions[1]


def test_new_service_reports_every_problem() -> None:
    draft = ServiceDraft(
        service_id="svc",
        team="",
        template="Web",
        environment="prod uction",
        endpoints=["javascript:alert(1)"],
        documentation_url="docs",
    )
    with pytest.raises(InvalidArgument) as caught:
        check_new_service(draft, "r" * 200)
    assert {v.field for v in caught.value.field_violations} == {
        "service.team",
        "service.template",
        "service.environment",
        "service.endpoints[0]",
        "service.documentation_url",
        "request_id",
    }
