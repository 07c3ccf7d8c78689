"""Gateway configuration, read from ``PAVED_GATEWAY_*`` environment variables."""

from __future__ import annotations

import ipaddress

from paved_kit.settings import BaseServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict


class GatewaySettings(BaseServiceSettings):
    """Where the gateway listens, where the services are, and who may call it.

    Auth is off only when neither ``tokens`` nor a JWKS is configured: the ``make run`` default, for a
    single developer on loopback. Binding to any other interface without auth is refused at start-up.
    """

    model_config = SettingsConfigDict(env_prefix="PAVED_GATEWAY_", validate_default=True)

    port: int = Field(8080, description="HTTP port; 0 picks a free one.")
    catalog_address: str = "127.0.0.1:50051"
    provisioning_address: str = "127.0.0.1:50052"
    policy_address: str = "127.0.0.1:50053"
    cost_address: str = "127.0.0.1:50054"
    alerting_address: str = "127.0.0.1:50055"
    call_timeout_seconds: float = Field(10.0, gt=0, description="Deadline of each gRPC call to a service.")
    readiness_timeout_seconds: float = Field(1.0, gt=0, description="Deadline of each /readyz health check.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted; larger ones get 413 unread."
    )

    tokens: SecretStr | None = Field(
        None,
        description='Static bearer tokens as JSON: [{"token": "...", "subject": "ci-bot", '
        '"teams": ["payments"], "roles": ["admin"]}].',
    )
    jwks_url: str | None = Field(None, description="JWKS URL that JWT bearer tokens are verified against.")
    jwks_file: str | None = Field(None, description="JWKS JSON file, instead of jwks_url.")
    jwt_issuer: str | None = Field(None, description="Required `iss` of JWTs.")
    jwt_audience: str | None = Field(None, description="Required `aud` of JWTs.")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    admin_groups: list[str] = Field(
        default_factory=lambda: ["platform-admins"],
        description="Backstage groups (in the JWT `ent` claim) whose members act as admins.",
    )
    group_namespace: str = Field(
        "default",
        min_length=1,
        pattern=r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$",
        description="The Backstage namespace of teams: only `group:<namespace>/<name>` refs, spelled "
        "exactly, count (in a JWT's `ent` claim and in the groups a delegate names); others grant nothing.",
    )
    jwt_max_lifetime_seconds: int = Field(
        86_400, gt=0, description="JWTs living longer than this (exp - iat, or exp - now) are refused."
    )
    allow_unauthenticated: bool = Field(
        False, description="Serve without auth on a non-loopback interface (never in production)."
    )
    operation_poll_seconds: float = Field(0.5, gt=0, description="Poll interval of operation event streams.")
    backstage_proxy_path: str = "/proxy/paved"

    @property
    def auth_enabled(self) -> bool:
        """Whether any credential source is configured."""
        return self.tokens is not None or bool(self.jwks_url) or bool(self.jwks_file)

    @model_validator(mode="after")
    def _check_auth(self) -> GatewaySettings:
        if self.jwks_url and self.jwks_file:
            raise ValueError("set jwks_url or jwks_file, not both")
        if not self.auth_enabled and not self.allow_unauthenticated and not _is_loopback(self.host):
            raise ValueError(
                f"host {self.host} is not loopback and no auth is configured: set tokens or jwks_url "
                "(or allow_unauthenticated=true to accept the risk)"
            )
        return self


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
