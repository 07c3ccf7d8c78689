"""Who is calling: bearer tokens (static ones from configuration, or JWTs checked against a JWKS) → a
principal with teams and roles, and the one rule the gateway enforces — a caller acts only on its teams.

JWTs follow Backstage's conventions: ``sub`` is the user entity ref and the ``ent`` claim lists the
ownership entity refs (``group:default/payments``), which are the caller's teams. Only groups of the
configured namespace count, spelled exactly (``group:evilns/platform-admins`` or ``GROUP:default/x`` is
no team), and a token may live at most ``max_lifetime_seconds`` (by ``exp - iat`` and by ``exp - now``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from pydantic import BaseModel, Field, SecretStr, ValidationError

from paved_gateway.errors import ApiError, forbidden, unauthenticated

ADMIN_ROLE = "admin"
DEFAULT_GROUP_NAMESPACE = "default"
DEFAULT_MAX_LIFETIME_SECONDS = 86_400
_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    subject: str
    teams: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """Admins act on every team's services."""
        return ADMIN_ROLE in self.roles

    def may_act_for(self, team: str) -> bool:
        """Whether the caller may act on services owned by ``team``."""
        return self.is_admin or team in self.teams

    def require_team(self, team: str) -> None:
        """Refuse (403) unless the caller may act for ``team``."""
        if not self.may_act_for(team):
            raise forbidden(f"{self.subject} may not act on services of team {team!r}")


# Auth disabled (no credentials configured): the local-development principal acts as an admin.
LOCAL_DEVELOPER = Principal("local-developer", roles=frozenset({ADMIN_ROLE}))


class StaticToken(BaseModel):
    """One configured static token."""

    token: SecretStr = Field(min_length=16)
    subject: str = Field(min_length=1)
    teams: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)


def parse_static_tokens(raw: SecretStr | None) -> list[StaticToken]:
    """The tokens of ``PAVED_GATEWAY_TOKENS`` (a JSON list); errors never echo the secret text."""
    if raw is None:
        return []
    try:
        data = json.loads(raw.get_secret_value())
    except json.JSONDecodeError as exc:
        raise ValueError(f"tokens: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, list):
        raise ValueError("tokens: must be a JSON list of {token, subject, teams, roles} objects")
    tokens: list[StaticToken] = []
    for index, item in enumerate(data):
        try:
            tokens.append(StaticToken.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)
            )
            raise ValueError(f"tokens[{index}]: {problems}") from None
    return tokens


class JwtVerifier:
    """Verifies JWT signatures against a JWKS (fetched from a URL and cached, or read from a file)."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        jwks_file: str | None = None,
        issuer: str | None,
        audience: str | None,
        algorithms: Iterable[str],
        admin_groups: Iterable[str] = (),
        group_namespace: str = DEFAULT_GROUP_NAMESPACE,
        max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
    ) -> None:
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._keys = (
            jwt.PyJWKSet.from_dict(json.loads(Path(jwks_file).read_text(encoding="utf-8")))
            if jwks_file
            else None
        )
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)
        self._admin_groups = frozenset(admin_groups)
        self._group_namespace = group_namespace
        self._max_lifetime = max_lifetime_seconds

    async def _signing_key(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        if self._client is not None:
            # PyJWKClient fetches over blocking HTTP; keep it off the event loop.
            key = await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
            return key.key
        assert self._keys is not None
        kid = header.get("kid")
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError("no key in the JWKS matches the token's kid")

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; raises ``jwt.InvalidTokenError`` otherwise."""
        key = await self._signing_key(token)
        options = {"require": ["exp", "sub"], "verify_aud": self._audience is not None}
        claims = jwt.decode(
            token,
            key,
            algorithms=self._algorithms,
            audience=self._audience,
            issuer=self._issuer,
            options=options,  # type: ignore[arg-type]
            leeway=_LEEWAY_SECONDS,
        )
        check_lifetime(claims, self._max_lifetime)
        return principal_from_claims(claims, self._admin_groups, self._group_namespace)


def check_lifetime(claims: dict[str, Any], max_lifetime_seconds: int, now: float | None = None) -> None:
    """Refuse a token that lives longer than ``max_lifetime_seconds``: from its ``iat`` when it has one,
    and from now in any case (a token expiring in year 9999 is a password, not a token)."""
    exp = claims["exp"]  # PyJWT has checked it is a number
    issued = claims.get("iat")
    remaining = exp - (time.time() if now is None else now)
    too_long = remaining > max_lifetime_seconds + _LEEWAY_SECONDS
    if isinstance(issued, int | float) and not isinstance(issued, bool):
        too_long = too_long or exp - issued > max_lifetime_seconds
    if too_long:
        raise jwt.InvalidTokenError(
            f"the token lives longer than the {max_lifetime_seconds} s the gateway accepts"
        )


def principal_from_claims(
    claims: dict[str, Any], admin_groups: Iterable[str] = (), group_namespace: str = DEFAULT_GROUP_NAMESPACE
) -> Principal:
    """Teams from Backstage's ``ent`` claim: refs spelled exactly ``group:<group_namespace>/<name>`` (any
    other namespace or spelling is no team); admin when a team is an admin group or the token carries a
    ``roles`` claim with ``admin``."""
    entities = claims.get("ent") or []
    prefix = f"group:{group_namespace}/"
    teams = {
        ref.removeprefix(prefix)
        for ref in entities
        if isinstance(ref, str)
        and ref.startswith(prefix)
        and len(ref) > len(prefix)
        and "/" not in ref[len(prefix) :]
    }
    roles = {str(role) for role in claims.get("roles") or [] if isinstance(role, str)}
    if teams & set(admin_groups):
        roles.add(ADMIN_ROLE)
    return Principal(str(claims["sub"]), frozenset(teams), frozenset(roles))


class Authenticator:
    """Turns an ``Authorization`` header into a principal, or refuses with 401."""

    def __init__(self, static_tokens: list[StaticToken], jwt_verifier: JwtVerifier | None) -> None:
        self._static = [(t.token.get_secret_value().encode(), t) for t in static_tokens]
        self._jwt = jwt_verifier

    @property
    def enabled(self) -> bool:
        """False when no credentials are configured (local development)."""
        return bool(self._static) or self._jwt is not None

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind ``authorization``."""
        if not self.enabled:
            return LOCAL_DEVELOPER
        if not authorization:
            raise unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated("the Authorization header must be 'Bearer <token>'")
        presented = token.encode()
        match = None
        # Compare against every token so timing does not tell which one came close.
        for secret, static in self._static:
            if hmac.compare_digest(secret, presented):
                match = static
        if match is not None:
            return Principal(match.subject, frozenset(match.teams), frozenset(match.roles))
        if self._jwt is not None and token.count(".") == 2:
            try:
                return await self._jwt.verify(token)
            except jwt.ExpiredSignatureError:
                raise unauthenticated("the token has expired") from None
            except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
                raise unauthenticated(f"the token is not valid: {_safe_reason(exc)}") from None
        raise unauthenticated("the bearer token is not valid")


def _safe_reason(exc: Exception) -> str:
    # PyJWT's messages name the failed check ("Invalid audience"), never the token itself.
    return str(exc)[:200] or type(exc).__name__


def require_any_team(principal: Principal) -> None:
    """Refuse callers that belong to no team and are no admin: they can act on nothing."""
    if not principal.is_admin and not principal.teams:
        raise ApiError(403, f"{principal.subject} belongs to no team")
