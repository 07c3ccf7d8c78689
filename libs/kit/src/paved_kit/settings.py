"""Configuration every Paved service shares, read from ``PAVED_<SERVICE>_*`` environment variables.

Secrets are ``SecretStr`` (never shown by ``repr``, logs or dumps) and may also be read from a file named
by ``<VAR>_FILE``, e.g. ``PAVED_CATALOG_AUTH_TOKEN_FILE=/run/secrets/token``.
"""

from __future__ import annotations

import logging
import os
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from paved_kit.tls import ClientTLS, ServerTLS

LogFormat = Literal["auto", "json", "console"]


def default_sqlite_url(service: str, data_dir: str | Path = ".paved") -> str:
    """The embedded default database of ``service``: a SQLite file under ``data_dir``."""
    return f"sqlite+aiosqlite:///{Path(data_dir) / f'{service}.db'}"


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


class SecretFileSource(PydanticBaseSettingsSource):
    """Reads each secret field from the file named by ``<PREFIX><FIELD>_FILE`` when that variable is set."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", ""))
        environ = {key.upper(): value for key, value in os.environ.items()}
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            if not _is_secret(field.annotation):
                continue
            variable = f"{prefix}{name}_FILE".upper()
            path = environ.get(variable)
            if not path:
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"{variable}: cannot read secret file {path!r} ({exc.strerror})") from None
        return values


class BaseServiceSettings(BaseSettings):
    """Settings shared by every service; a subclass sets ``env_prefix`` and the default ``port``.

    Example::

        class CatalogSettings(BaseServiceSettings):
            model_config = SettingsConfigDict(env_prefix="PAVED_CATALOG_")
            port: int = 50051
    """

    model_config = SettingsConfigDict(env_prefix="PAVED_SERVICE_", validate_default=True)

    host: str = Field(default="127.0.0.1", description="Interface the gRPC server binds to.")
    port: int = Field(description="gRPC port; 0 picks a free one.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL (sqlite+aiosqlite or postgresql+asyncpg); "
        "empty means a SQLite file .paved/<service>.db.",
    )
    migrate_on_start: bool = Field(
        default=True,
        description="Bring the database schema to this release's head at start-up; off = refuse to serve "
        "an outdated schema (run `python -m paved_<service> migrate` first).",
    )
    log_level: str = "INFO"
    log_format: LogFormat = "auto"
    grace_period_seconds: float = Field(
        default=5.0, ge=0, description="Time in-flight calls get on shutdown."
    )
    auth_token: SecretStr | None = Field(
        default=None, description="Bearer token required on incoming calls and sent on outgoing ones."
    )
    metrics_port: int | None = Field(default=None, description="Prometheus exposition port; unset = off.")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = Field(
        default=None, description="Require client certificates signed by it."
    )
    tls_ca_file: Path | None = Field(default=None, description="CA that outgoing channels trust; set = TLS.")
    tls_client_cert_file: Path | None = None
    tls_client_key_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            SecretFileSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @classmethod
    def service_name(cls) -> str:
        """Short service name derived from the env prefix: ``PAVED_CATALOG_`` → ``catalog``."""
        prefix = str(cls.model_config.get("env_prefix", "")).lower().strip("_")
        return prefix.removeprefix("paved_") or "service"

    @field_validator("port", "metrics_port")
    @classmethod
    def _check_port(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 65535:
            raise ValueError("must be between 0 and 65535")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _complete(self) -> BaseServiceSettings:
        if not self.database_url:
            self.database_url = default_sqlite_url(self.service_name())
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be set together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file needs tls_cert_file and tls_key_file")
        if (self.tls_client_cert_file is None) != (self.tls_client_key_file is None):
            raise ValueError("tls_client_cert_file and tls_client_key_file must be set together")
        for name in (
            "tls_cert_file",
            "tls_key_file",
            "tls_client_ca_file",
            "tls_ca_file",
            "tls_client_cert_file",
            "tls_client_key_file",
        ):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name}: no such file: {path}")
        return self

    def server_tls(self) -> ServerTLS | None:
        """Server TLS from the settings, or None for plaintext."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return None
        return ServerTLS(self.tls_cert_file, self.tls_key_file, self.tls_client_ca_file)

    def client_tls(self) -> ClientTLS | None:
        """TLS for outgoing channels, or None for plaintext (no CA and no client certificate set)."""
        if self.tls_ca_file is None and self.tls_client_cert_file is None:
            return None
        return ClientTLS(self.tls_ca_file, self.tls_client_cert_file, self.tls_client_key_file)

    def safe_dump(self) -> dict[str, Any]:
        """The settings as JSON-ready data with every secret masked, fit for a start-up log line."""
        data = self.model_dump(mode="json")
        data["database_url"] = mask_url_password(self.database_url)
        return data


def mask_url_password(url: str) -> str:
    """``url`` with any password replaced by ``***``, for logs."""
    # Imported here: services without a database (the gateway) need not load SQLAlchemy to start.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable url>"
