"""Request handling without a server: list filters, page tokens, validation, the inputs digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from paved_kit.errors import InvalidArgument
from paved_policy.decisions import DECISION_FILTER_FIELDS, inputs_digest
from paved_policy.domain import (
    EnforcementLevel,
    EvaluationContext,
    Override,
    Policy,
    PolicyException,
    Resource,
    Scope,
    Severity,
)
from paved_policy.filtering import And, Comparison, FilterError, Not, Or, parse_filter
from paved_policy.paging import decode_token, encode_token, page_size
from paved_policy.rules import RuleEngine
from paved_policy.validation import (
    check_exception,
    check_override,
    check_parameters,
    check_policy,
    check_resources,
    policy_id_violation,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('team = "payments"', Comparison("team", "=", "payments")),
        ("outcome = DENY", Comparison("outcome", "=", "DENY")),
        ("outcome = DECISION_OUTCOME_ALLOW_WITH_WARNINGS", Comparison("outcome", "=", "ALLOW_WITH_WARNINGS")),
        ("outcome = deny", Comparison("outcome", "=", "DENY")),
        ("override_applied = true", Comparison("override_applied", "=", True)),
        (
            'team = "a" AND outcome != ALLOW',
            And((Comparison("team", "=", "a"), Comparison("outcome", "!=", "ALLOW"))),
        ),
        ('team = "a" team = "b"', And((Comparison("team", "=", "a"), Comparison("team", "=", "b")))),
        ('team = "a" OR team = "b"', Or((Comparison("team", "=", "a"), Comparison("team", "=", "b")))),
        ('NOT requester = "bot"', Not(Comparison("requester", "=", "bot"))),
        ('-requester = "bot"', Not(Comparison("requester", "=", "bot"))),
        (
            'create_time >= "2026-01-01T00:00:00Z"',
            Comparison("create_time", ">=", datetime(2026, 1, 1, tzinfo=UTC)),
        ),
        ("", None),
    ],
)
def test_filters_parse(text: str, tree: object) -> None:
    assert parse_filter(text, DECISION_FILTER_FIELDS) == tree


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("color = red", "unknown field 'color'"),
        ("outcome = MAYBE", "outcome must be one of"),
        ("outcome > DENY", "supports only = and !="),
        ("override_applied = yes", "true or false"),
        ('create_time > "yesterday"', "RFC 3339"),
        ("team =", "cannot parse"),
        ('(team = "a"', "cannot parse"),
        ('team = "a\x00"', "U\\+0000"),
        ('team = "\uffff"', "U\\+FFFF"),
    ],
)
def test_bad_filters_say_why(text: str, fragment: str) -> None:
    with pytest.raises(FilterError, match=fragment):
        parse_filter(text, DECISION_FILTER_FIELDS)


def test_page_tokens_are_bound_to_their_query() -> None:
    token = encode_token("abc", 'team = "a"')
    assert decode_token(token, 'team = "a"') == "abc"
    assert decode_token("", "anything") is None
    with pytest.raises(InvalidArgument):
        decode_token(token, 'team = "b"')
    with pytest.raises(InvalidArgument):
        decode_token("not-a-token!", "")
    assert page_size(0, default=50, maximum=1000) == 50
    assert page_size(5000, default=50, maximum=1000) == 1000
    with pytest.raises(InvalidArgument):
        page_size(-1, default=50, maximum=1000)


@pytest.mark.parametrize(
    ("policy_id", "ok"),
    [("required_tags", True), ("no-spot", True), ("a", True), ("A", False), ("1abc", False), ("x-", False)],
)
def test_policy_ids(policy_id: str, ok: bool) -> None:
    assert (policy_id_violation(policy_id, "policy_id") is None) is ok


def test_policy_content_checks_name_every_field() -> None:
    policy = Policy(
        policy_id="p",
        expression="resource.(",
        severity=Severity.ERROR,
        enforcement_level=EnforcementLevel.ADVISORY,
        message="{nope}",
        scope=Scope(resource_types=("ok", "not ok")),
    )
    fields = sorted(v.field for v in check_policy(policy, RuleEngine()))
    assert fields == ["policy.expression", "policy.message", "policy.scope.resource_types[1]"]
    assert [v.field for v in check_parameters({"ok_name": 1, "bad-name": 2})] == [
        "policy.parameters.bad-name"
    ]


def test_exception_checks() -> None:
    good = PolicyException(
        name="", policy="policies/p", approved_by="carol", reason="why", expire_time=NOW + timedelta(days=1)
    )
    assert check_exception(good, now=NOW, max_duration=timedelta(days=365)) == []
    too_long = PolicyException(
        name="", policy="policies/p", approved_by="c", reason="r", expire_time=NOW + timedelta(days=400)
    )
    [problem] = check_exception(too_long, now=NOW, max_duration=timedelta(days=365))
    assert problem.field == "exception.expire_time"


def test_overrides_need_who_and_why() -> None:
    assert check_override(None) == []
    assert check_override(Override("bob", "peak")) == []
    assert [v.field for v in check_override(Override(" ", ""))] == ["override.approved_by", "override.reason"]


def test_resources_are_named_uniquely_and_bounded() -> None:
    resources = [Resource("a", "compute"), Resource("a", "compute"), Resource("", "")]
    fields = [v.field for v in check_resources(resources, max_resources=10)]
    assert fields == ["resources[1].name", "resources[2].name", "resources[2].type"]
    assert [v.field for v in check_resources([], max_resources=10)] == ["resources"]
    assert "at most 1" in check_resources(resources, max_resources=1)[0].description


def test_inputs_digest_is_canonical() -> None:
    context = EvaluationContext(time=NOW, team="t")
    first = inputs_digest([Resource("a", "compute", {"x": "1", "y": "2"}, {"n": 1.0})], context, None)
    reordered = inputs_digest([Resource("a", "compute", {"y": "2", "x": "1"}, {"n": 1.0})], context, None)
    changed = inputs_digest([Resource("a", "compute", {"x": "1", "y": "2"}, {"n": 2.0})], context, None)
    overridden = inputs_digest(
        [Resource("a", "compute", {"x": "1", "y": "2"}, {"n": 1.0})], context, Override("b", "r")
    )
    assert first == reordered
    assert len({first, changed, overridden}) == 3
