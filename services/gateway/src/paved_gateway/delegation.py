"""Acting for a Backstage user: a caller holding the ``delegate`` role (Paved's Backstage modules, with
their own static token) names the user and the user's groups, and the request is authorized — and
recorded — as that user, never as the module.

Backstage resolves who the user is and which groups they belong to (its catalog is the source of truth
for both); Paved trusts that statement only from a token it issued for that purpose, and only for group
refs in the configured namespace, matched exactly. A delegate token that lists ``teams`` can only ever
delegate those teams, so a leaked module token is bounded by its own configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from paved_kit.errors import FieldViolation

from paved_gateway.auth import ADMIN_ROLE, Principal
from paved_gateway.errors import forbidden, invalid

DELEGATE_ROLE = "delegate"
USER_HEADER = "x-paved-on-behalf-of"
GROUPS_HEADER = "x-paved-on-behalf-of-groups"
_USER_REF = re.compile(r"^user:[a-z0-9]([-a-z0-9_.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_GROUP_REF = re.compile(r"^group:(?P<namespace>[^/\s]+)/(?P<name>[^/\s]+)$")
_MAX_GROUPS = 200


def acting_principal(
    caller: Principal,
    user: str | None,
    groups: str | None,
    *,
    namespace: str,
    admin_groups: Iterable[str] = (),
) -> Principal:
    """``caller`` itself when it names no user; otherwise the named user with the teams its groups give
    (only for a caller with the delegate role)."""
    if user is None and groups is None:
        return caller
    if DELEGATE_ROLE not in caller.roles:
        raise forbidden(f"{caller.subject} may not act on behalf of another user")
    if user is None or not _USER_REF.match(user.strip()):
        raise invalid(
            "the request is invalid",
            [
                FieldViolation(
                    "X-Paved-On-Behalf-Of",
                    "must be a Backstage user entity ref, e.g. user:default/alice",
                )
            ],
        )
    teams = _teams(groups or "", namespace)
    if caller.teams:
        teams &= caller.teams  # a delegate limited to teams can only hand out those
    roles: set[str] = set()
    if caller.is_admin and teams & set(admin_groups):
        roles.add(ADMIN_ROLE)
    return Principal(user.strip(), frozenset(teams), frozenset(roles))


def _teams(header: str, namespace: str) -> set[str]:
    refs = [ref.strip() for ref in header.split(",") if ref.strip()]
    if len(refs) > _MAX_GROUPS:
        raise invalid(
            "the request is invalid",
            [FieldViolation("X-Paved-On-Behalf-Of-Groups", f"at most {_MAX_GROUPS} group refs")],
        )
    teams: set[str] = set()
    for ref in refs:
        match = _GROUP_REF.match(ref)
        if match is None:
            raise invalid(
                "the request is invalid",
                [
                    FieldViolation(
                        "X-Paved-On-Behalf-Of-Groups",
                        f"{ref[:80]!r} is not a group entity ref (group:<namespace>/<name>)",
                    )
                ],
            )
        # Exact and case-sensitive: group:other/payments grants nothing (GROUP:... is refused above).
        if match["namespace"] == namespace:
            teams.add(match["name"])
    return teams
