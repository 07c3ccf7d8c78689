"""Which teams a listing is restricted to, and the AIP-160 filters that say so."""

from __future__ import annotations

import pytest
from paved_gateway.access import and_filters, not_found_for, team_filter, team_scope
from paved_gateway.auth import Principal
from paved_gateway.errors import ApiError

ALICE = Principal("alice", frozenset({"payments", "search"}))
ADMIN = Principal("root", roles=frozenset({"admin"}))
LONER = Principal("nobody")


def test_member_defaults_to_own_teams_sorted() -> None:
    assert team_scope(ALICE, None) == ["payments", "search"]


def test_member_may_narrow_to_one_of_own_teams_only() -> None:
    assert team_scope(ALICE, "search") == ["search"]
    with pytest.raises(ApiError) as caught:
        team_scope(ALICE, "billing")
    assert caught.value.status == 403


def test_admin_sees_everything_unless_narrowed() -> None:
    assert team_scope(ADMIN, None) is None
    assert team_scope(ADMIN, "billing") == ["billing"]


def test_caller_without_team_sees_nothing() -> None:
    with pytest.raises(ApiError) as caught:
        team_scope(LONER, None)
    assert caught.value.status == 403


def test_filters() -> None:
    assert team_filter(None) == ""
    assert team_filter(["a"]) == 'team = "a"'
    assert team_filter(["a", "b"]) == 'team = "a" OR team = "b"'
    assert (
        and_filters(team_filter(["a", "b"]), "", "state = ACTIVE")
        == 'team = "a" OR team = "b" AND state = ACTIVE'
    )


def test_missing_resource_is_403_for_members_and_404_for_admins() -> None:
    assert not_found_for(ALICE, "service 'x'").status == 403
    assert not_found_for(ADMIN, "service 'x'").status == 404
    # Members cannot tell a missing service from another team's: same status, same shape of message.
    assert not_found_for(ALICE, "service 'x'").message == "alice may not act on service 'x'"
