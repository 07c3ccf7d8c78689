"""Acting for a Backstage user: who may, and which teams the user's group refs give."""

from __future__ import annotations

import pytest
from paved_gateway.auth import ADMIN_ROLE, Principal
from paved_gateway.delegation import DELEGATE_ROLE, acting_principal
from paved_gateway.errors import ApiError

MODULE = Principal("backstage", roles=frozenset({DELEGATE_ROLE}))


def test_without_headers_the_caller_acts_as_itself() -> None:
    assert acting_principal(MODULE, None, None, namespace="default") is MODULE


def test_the_user_gets_exactly_the_teams_of_the_configured_namespace() -> None:
    principal = acting_principal(
        MODULE,
        "user:default/alice",
        "group:default/payments, group:evilns/search, group:default/Payments-Old",
        namespace="default",
        admin_groups=["platform-admins"],
    )
    assert principal.subject == "user:default/alice"
    assert principal.teams == {"payments", "Payments-Old"}
    assert principal.roles == frozenset()


def test_an_admin_group_in_another_namespace_grants_nothing() -> None:
    admin_module = Principal("backstage", roles=frozenset({DELEGATE_ROLE, ADMIN_ROLE}))
    outside = acting_principal(
        admin_module,
        "user:default/eve",
        "group:evilns/platform-admins",
        namespace="default",
        admin_groups=["platform-admins"],
    )
    assert not outside.is_admin
    inside = acting_principal(
        admin_module,
        "user:default/root",
        "group:default/platform-admins",
        namespace="default",
        admin_groups=["platform-admins"],
    )
    assert inside.is_admin


def test_a_delegate_limited_to_teams_hands_out_only_those() -> None:
    limited = Principal("backstage", teams=frozenset({"payments"}), roles=frozenset({DELEGATE_ROLE}))
    principal = acting_principal(
        limited, "user:default/alice", "group:default/payments,group:default/search", namespace="default"
    )
    assert principal.teams == {"payments"}


def test_an_admin_delegate_without_admin_groups_does_not_make_users_admins() -> None:
    admin_module = Principal("backstage", roles=frozenset({DELEGATE_ROLE, ADMIN_ROLE}))
    assert not acting_principal(
        admin_module, "user:default/a", "group:default/x", namespace="default"
    ).is_admin


@pytest.mark.parametrize(
    ("user", "groups", "status", "field"),
    [
        ("alice", "group:default/payments", 400, "X-Paved-On-Behalf-Of"),
        (None, "group:default/payments", 400, "X-Paved-On-Behalf-Of"),
        ("user:default/alice", "GROUP:default/payments", 400, "X-Paved-On-Behalf-Of-Groups"),
        ("user:default/alice", "payments", 400, "X-Paved-On-Behalf-Of-Groups"),
    ],
)
def test_malformed_headers_are_400_naming_the_header(
    user: str | None, groups: str, status: int, field: str
) -> None:
    with pytest.raises(ApiError) as caught:
        acting_principal(MODULE, user, groups, namespace="default")
    assert caught.value.status == status
    assert caught.value.details["fieldViolations"][0]["field"] == field


def test_only_a_delegate_may_name_another_user() -> None:
    team_token = Principal("alice", teams=frozenset({"payments"}))
    with pytest.raises(ApiError) as caught:
        acting_principal(team_token, "user:default/bob", "group:default/search", namespace="default")
    assert caught.value.status == 403
