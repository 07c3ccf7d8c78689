"""Bearer-token auth: static tokens, JWTs against a JWKS with Backstage's `ent` claim, team rules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from paved_gateway.auth import (
    LOCAL_DEVELOPER,
    Authenticator,
    JwtVerifier,
    Principal,
    parse_static_tokens,
    principal_from_claims,
)
from paved_gateway.errors import ApiError
from paved_gateway.settings import GatewaySettings
from pydantic import SecretStr

TOKENS = json.dumps(
    [
        {"token": "payments-token-0123456789", "subject": "alice", "teams": ["payments"]},
        {"token": "admin-token-0123456789ab", "subject": "root", "roles": ["admin"]},
    ]
)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path


def sign(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "user:default/bob", "iss": "backstage", "aud": "paved", "iat": now, "exp": now + 300}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def authenticator(jwks: Path | None = None) -> Authenticator:
    verifier = (
        JwtVerifier(
            jwks_file=str(jwks),
            issuer="backstage",
            audience="paved",
            algorithms=["RS256"],
            admin_groups=["platform-admins"],
        )
        if jwks
        else None
    )
    return Authenticator(parse_static_tokens(SecretStr(TOKENS)), verifier)


async def test_static_token_maps_to_subject_and_teams() -> None:
    principal = await authenticator().authenticate("Bearer payments-token-0123456789")
    assert principal == Principal("alice", frozenset({"payments"}), frozenset())
    assert principal.may_act_for("payments")
    assert not principal.may_act_for("search")


async def test_admin_role_acts_for_every_team() -> None:
    principal = await authenticator().authenticate("Bearer admin-token-0123456789ab")
    assert principal.is_admin and principal.may_act_for("anything")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer wrong-token-00000000"])
async def test_missing_or_wrong_credentials_are_401(header: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        await authenticator().authenticate(header)
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


async def test_jwt_teams_come_from_the_ent_claim(rsa_key: rsa.RSAPrivateKey, jwks_file: Path) -> None:
    token = sign(rsa_key, ent=["user:default/bob", "group:default/payments", "group:default/search"])
    principal = await authenticator(jwks_file).authenticate(f"Bearer {token}")
    assert principal.subject == "user:default/bob"
    assert principal.teams == {"payments", "search"}
    assert not principal.is_admin


async def test_jwt_admin_group_gives_the_admin_role(rsa_key: rsa.RSAPrivateKey, jwks_file: Path) -> None:
    token = sign(rsa_key, ent=["group:default/platform-admins"])
    assert (await authenticator(jwks_file).authenticate(f"Bearer {token}")).is_admin


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"aud": "someone-else"}, "not valid"),
        ({"iss": "evil"}, "not valid"),
    ],
)
async def test_bad_jwts_are_401(
    rsa_key: rsa.RSAPrivateKey, jwks_file: Path, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApiError) as caught:
        await authenticator(jwks_file).authenticate(f"Bearer {sign(rsa_key, **claims)}")
    assert caught.value.status == 401
    assert message in caught.value.message


async def test_jwt_signed_by_another_key_is_401(jwks_file: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ApiError) as caught:
        await authenticator(jwks_file).authenticate(f"Bearer {sign(other)}")
    assert caught.value.status == 401


async def test_unsigned_jwt_is_refused(jwks_file: Path) -> None:
    token = jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 60, "aud": "paved", "iss": "backstage"}, None, algorithm="none"
    )
    with pytest.raises(ApiError):
        await authenticator(jwks_file).authenticate(f"Bearer {token}")


async def test_no_credentials_configured_means_local_development() -> None:
    auth = Authenticator([], None)
    assert not auth.enabled
    assert await auth.authenticate(None) == LOCAL_DEVELOPER


def test_wrong_team_is_403() -> None:
    with pytest.raises(ApiError) as caught:
        Principal("alice", frozenset({"payments"})).require_team("search")
    assert caught.value.status == 403


def test_ent_claim_ignores_non_group_refs() -> None:
    principal = principal_from_claims({"sub": "u", "ent": ["user:default/u", "component:default/x", 7]})
    assert principal.teams == frozenset()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"token": "x"}', "JSON list"),
        ('[{"token": "short", "subject": "a"}]', "tokens[0]: token"),
    ],
)
def test_bad_token_configuration_is_reported_without_the_secret(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_static_tokens(SecretStr(raw))
    assert message in str(caught.value)
    assert "short" not in str(caught.value).replace("tokens[0]: token", "")


def test_no_auth_on_a_public_interface_is_refused() -> None:
    with pytest.raises(ValueError, match="no auth is configured"):
        GatewaySettings.model_validate({"host": "0.0.0.0"})
    GatewaySettings.model_validate({"host": "0.0.0.0", "tokens": TOKENS})
    GatewaySettings.model_validate({"host": "0.0.0.0", "allow_unauthenticated": True})


def test_tokens_never_show_in_settings_dumps() -> None:
    settings = GatewaySettings.model_validate({"tokens": TOKENS})
    assert "payments-token" not in repr(settings)
    assert "payments-token" not in json.dumps(settings.safe_dump())


async def test_jwks_is_fetched_from_a_url(rsa_key: rsa.RSAPrivateKey, jwks_file: Path) -> None:
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = partial(SimpleHTTPRequestHandler, directory=str(jwks_file.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        verifier = JwtVerifier(
            jwks_url=f"http://127.0.0.1:{server.server_address[1]}/{jwks_file.name}",
            issuer="backstage",
            audience="paved",
            algorithms=["RS256"],
        )
        auth = Authenticator([], verifier)
        principal = await auth.authenticate(f"Bearer {sign(rsa_key, ent=['group:default/search'])}")
        assert principal.teams == {"search"}
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "ref",
    [
        "group:evilns/platform-admins",  # another namespace's group of the same name
        "GROUP:default/platform-admins",  # another spelling of the kind
        "Group:default/platform-admins",
        "group:DEFAULT/platform-admins",
        "group:default/platform-admins/x",
        "group:default/",
        "group:/platform-admins",
    ],
)
async def test_group_refs_outside_the_namespace_or_misspelt_give_nothing(
    rsa_key: rsa.RSAPrivateKey, jwks_file: Path, ref: str
) -> None:
    principal = await authenticator(jwks_file).authenticate(f"Bearer {sign(rsa_key, ent=[ref])}")
    assert not principal.is_admin
    assert principal.teams == frozenset()


def test_teams_come_from_the_configured_namespace_only() -> None:
    claims = {"sub": "u", "ent": ["group:partner/payments", "group:default/search", "group:partner/ops"]}
    assert principal_from_claims(claims).teams == {"search"}
    assert principal_from_claims(claims, group_namespace="partner").teams == {"payments", "ops"}


@pytest.mark.parametrize(
    "claims",
    [
        lambda now: {"exp": 253402300799},  # 9999-12-31
        lambda now: {"iat": now - 10, "exp": now + 2 * 86_400},
        lambda now: {"iat": now - 3 * 86_400, "exp": now + 60},  # issued for three days
    ],
    ids=["year-9999", "two-days-ahead", "issued-three-days-ago"],
)
async def test_tokens_living_longer_than_the_maximum_are_401(
    rsa_key: rsa.RSAPrivateKey, jwks_file: Path, claims: Callable[[int], dict[str, Any]]
) -> None:
    # Times are taken when the test runs, not when it is collected: a long suite would expire them.
    token = sign(rsa_key, **claims(int(time.time())))
    with pytest.raises(ApiError) as caught:
        await authenticator(jwks_file).authenticate(f"Bearer {token}")
    assert caught.value.status == 401
    assert "lives longer than the 86400 s" in caught.value.message


async def test_the_maximum_lifetime_is_configurable(rsa_key: rsa.RSAPrivateKey, jwks_file: Path) -> None:
    verifier = JwtVerifier(
        jwks_file=str(jwks_file),
        issuer="backstage",
        audience="paved",
        algorithms=["RS256"],
        max_lifetime_seconds=60,
    )
    with pytest.raises(jwt.InvalidTokenError):
        await verifier.verify(sign(rsa_key))  # five minutes
    now = int(time.time())
    assert (await verifier.verify(sign(rsa_key, iat=now, exp=now + 60))).subject == "user:default/bob"


def test_settings_carry_the_namespace_and_lifetime() -> None:
    settings = GatewaySettings.model_validate(
        {"group_namespace": "partner", "jwt_max_lifetime_seconds": 3600}
    )
    assert (settings.group_namespace, settings.jwt_max_lifetime_seconds) == ("partner", 3600)
    with pytest.raises(ValueError):
        GatewaySettings.model_validate({"group_namespace": "Evil NS"})
