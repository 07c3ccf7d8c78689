"""Fixtures of the end-to-end tests: the whole suite as processes, and HTTP clients per caller."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).parent))

from e2e_suite import Suite, create_databases, drop_databases, missing_services, start_suite

TOKENS = {
    "admin": {"token": "e2e-admin-token-000000000000", "subject": "platform-bot", "roles": ["admin"]},
    "payments": {"token": "e2e-payments-token-0000000000", "subject": "alice", "teams": ["payments"]},
    # A second person of the payments team: approves what alice asks for (four eyes).
    "payments-reviewer": {
        "token": "e2e-payments-reviewer-token-00",
        "subject": "dave",
        "teams": ["payments"],
    },
    "search": {"token": "e2e-search-token-00000000000", "subject": "bob", "teams": ["search"]},
    # What Paved's Backstage modules hold: acts only on behalf of a named user (X-Paved-On-Behalf-Of).
    "backstage": {"token": "e2e-backstage-delegate-token-0", "subject": "backstage", "roles": ["delegate"]},
}
JWT_ISSUER = "https://backstage.example.test"
JWT_AUDIENCE = "paved"


@pytest.fixture(scope="session")
def jwt_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory, jwt_key: rsa.RSAPrivateKey) -> Iterator[Suite]:
    missing = missing_services()
    if missing:
        pytest.skip(f"end-to-end tests need every service runnable; not there yet: {', '.join(missing)}")
    data_dir = tmp_path_factory.mktemp("paved-e2e")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(jwt_key.public_key()))
    jwk.update({"kid": "e2e", "alg": "RS256", "use": "sig"})
    jwks = data_dir / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    # PAVED_E2E_DATABASE=postgres runs the suite on PostgreSQL (PAVED_TEST_DATABASE_URL's server), one
    # fresh database per service; the default is SQLite files, as `paved up` uses.
    server_url = os.environ.get(
        "PAVED_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    on_postgres = os.environ.get("PAVED_E2E_DATABASE", "sqlite") == "postgres"
    database_urls = create_databases(server_url, f"paved_e2e_{uuid.uuid4().hex[:8]}") if on_postgres else {}
    running = start_suite(
        data_dir,
        database_urls=database_urls,
        extra_env={
            "gateway": {
                "PAVED_GATEWAY_TOKENS": json.dumps(list(TOKENS.values())),
                "PAVED_GATEWAY_JWKS_FILE": str(jwks),
                "PAVED_GATEWAY_JWT_ISSUER": JWT_ISSUER,
                "PAVED_GATEWAY_JWT_AUDIENCE": JWT_AUDIENCE,
                "PAVED_GATEWAY_OPERATION_POLL_SECONDS": "0.1",
                "PAVED_GATEWAY_CALL_TIMEOUT_SECONDS": "5",
            },
            "provisioning": {
                "PAVED_PROVISIONING_POLL_INTERVAL_SECONDS": "0.05",
                "PAVED_PROVISIONING_OPTIMIZATION_BAKE_POLL_SECONDS": "0.5",
                # One suite serves every test of the session, most of them creating services of the same
                # few teams: the default quotas (200 instances) ran out before the last files ran. Tests
                # of quotas set their own on a team of their own.
                "PAVED_PROVISIONING_DEFAULT_MAX_INSTANCES": "5000",
                "PAVED_PROVISIONING_DEFAULT_MAX_SERVICES": "1000",
                "PAVED_PROVISIONING_DEFAULT_MAX_MONTHLY_COST": "10000000",
            },
        },
    )
    yield running
    running.stop_all()
    if database_urls:
        drop_databases(server_url, database_urls)


def client_for(suite: Suite, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=suite.gateway_url, headers=headers, timeout=30)


@pytest.fixture
def admin(suite: Suite) -> Iterator[httpx.Client]:
    with client_for(suite, TOKENS["admin"]["token"]) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def payments(suite: Suite) -> Iterator[httpx.Client]:
    with client_for(suite, TOKENS["payments"]["token"]) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def reviewer(suite: Suite) -> Iterator[httpx.Client]:
    with client_for(suite, TOKENS["payments-reviewer"]["token"]) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def search(suite: Suite) -> Iterator[httpx.Client]:
    with client_for(suite, TOKENS["search"]["token"]) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture
def anonymous(suite: Suite) -> Iterator[httpx.Client]:
    with client_for(suite, None) as client:
        yield client


@pytest.fixture
def sign_jwt(jwt_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    def sign(**claims: Any) -> str:
        now = int(time.time())
        payload = {
            "sub": "user:default/carol",
            "iss": JWT_ISSUER,
            "aud": JWT_AUDIENCE,
            "iat": now,
            "exp": now + 600,
        }
        payload.update(claims)
        return jwt.encode(payload, jwt_key, algorithm="RS256", headers={"kid": "e2e"})

    return sign


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Service names unique across the session (the suite is shared)."""

    def make(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make
