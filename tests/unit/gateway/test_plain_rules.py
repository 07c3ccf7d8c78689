"""Validation errors of the HTTP API say the rule in words, not as pydantic's regular-expression jargon."""

from __future__ import annotations

from paved_gateway import schemas
from paved_gateway.errors import plain_rule
from pydantic import BaseModel, ValidationError


def errors_of(model: type[BaseModel], data: dict[str, object]) -> list[str]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [plain_rule(error) for error in exc.errors()]
    return []


def test_a_dns_label_rule_is_said_in_words() -> None:
    [rule] = errors_of(schemas.WorkflowRequest, {"environment": "Prod_1"})
    assert rule.startswith("must be lowercase letters, digits and '-'") and "^" not in rule


def test_a_version_rule_is_said_in_words() -> None:
    [rule] = errors_of(schemas.WorkflowRequest, {"version": "v 1"})
    assert rule == "must be letters, digits, '.', '_' and '-' only"
