"""Which services and teams a caller may see: checked before existence, so a caller outside a team
cannot learn which of its services exist (a missing service and a foreign one both answer 403)."""

from __future__ import annotations

import grpc
from paved.catalog.v1 import catalog_pb2

from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.convert import SERVICE_PREFIX
from paved_gateway.errors import ApiError, forbidden, from_rpc_error


def not_permitted(principal: Principal, what: str) -> ApiError:
    """The one answer for "not yours" and "does not exist" given to non-admins."""
    return forbidden(f"{principal.subject} may not act on {what}")


def not_found_for(principal: Principal, what: str) -> ApiError:
    """404 for admins (who may see everything), 403 for everyone else."""
    if principal.is_admin:
        return ApiError(404, f"{what} does not exist")
    return not_permitted(principal, what)


async def authorized_service(backends: Backends, principal: Principal, name: str) -> catalog_pb2.Service:
    """The catalog entry of service ``name`` if the caller may act on it."""
    what = f"service {name!r}"
    try:
        service = await backends.catalog.GetService(catalog_pb2.GetServiceRequest(name=SERVICE_PREFIX + name))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise not_found_for(principal, what) from None
        raise from_rpc_error(exc, "catalog") from None
    if not principal.may_act_for(service.team):
        raise not_permitted(principal, what)
    return service


def team_scope(principal: Principal, team: str | None) -> list[str] | None:
    """Teams a listing is restricted to: ``[team]`` when asked for one (and allowed), the caller's own
    teams otherwise, or None (everything) for an admin who named no team."""
    if team is not None:
        principal.require_team(team)
        return [team]
    if principal.is_admin:
        return None
    if not principal.teams:
        raise forbidden(f"{principal.subject} belongs to no team")
    return sorted(principal.teams)


def team_filter(teams: list[str] | None) -> str:
    """An AIP-160 clause restricting to ``teams`` (values are validated DNS labels, so quoting is safe)."""
    if not teams:
        return ""
    # No parentheses needed: in AIP-160, OR binds tighter than AND.
    return " OR ".join(f'team = "{team}"' for team in teams)


def and_filters(*clauses: str) -> str:
    """Clauses joined with AND, empty ones dropped."""
    return " AND ".join(clause for clause in clauses if clause)
