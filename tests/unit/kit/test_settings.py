"""Service settings: env prefixes, embedded defaults, secrets that never show, start-up validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from paved_kit.settings import BaseServiceSettings, default_sqlite_url
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict


class CatalogSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAVED_CATALOG_")

    port: int = 50051
    provisioning_address: str = "127.0.0.1:50052"


def test_defaults_work_out_of_the_box(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CatalogSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 50051)
    assert settings.database_url == default_sqlite_url("catalog") == "sqlite+aiosqlite:///.paved/catalog.db"
    assert settings.auth_token is None and settings.metrics_port is None
    assert settings.server_tls() is None and settings.client_tls() is None
    assert CatalogSettings.service_name() == "catalog"


def test_environment_overrides_with_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_CATALOG_PORT", "6000")
    monkeypatch.setenv("PAVED_CATALOG_PROVISIONING_ADDRESS", "10.0.0.2:50052")
    monkeypatch.setenv("PAVED_CATALOG_LOG_LEVEL", "debug")
    monkeypatch.setenv("PAVED_POLICY_PORT", "7000")
    settings = CatalogSettings()
    assert settings.port == 6000
    assert settings.provisioning_address == "10.0.0.2:50052"
    assert settings.log_level == "DEBUG"


def test_secret_never_shows_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_CATALOG_AUTH_TOKEN", "tok-123456")
    monkeypatch.setenv("PAVED_CATALOG_DATABASE_URL", "postgresql+asyncpg://paved:pw-987@db:5432/catalog")
    settings = CatalogSettings()
    assert isinstance(settings.auth_token, SecretStr)
    assert settings.auth_token.get_secret_value() == "tok-123456"
    shown = f"{settings!r} {settings} {settings.safe_dump()}"
    assert "tok-123456" not in shown
    assert "pw-987" not in str(settings.safe_dump())


def test_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    monkeypatch.setenv("PAVED_CATALOG_AUTH_TOKEN_FILE", str(token_file))
    settings = CatalogSettings()
    assert settings.auth_token is not None
    assert settings.auth_token.get_secret_value() == "from-a-file"


def test_unreadable_secret_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PAVED_CATALOG_AUTH_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="PAVED_CATALOG_AUTH_TOKEN_FILE"):
        CatalogSettings()


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("PAVED_CATALOG_PORT", "70000", "between 0 and 65535"),
        ("PAVED_CATALOG_PORT", "eighty", "valid integer"),
        ("PAVED_CATALOG_LOG_FORMAT", "xml", "auto"),
        ("PAVED_CATALOG_LOG_LEVEL", "LOUD", "DEBUG"),
        ("PAVED_CATALOG_GRACE_PERIOD_SECONDS", "-1", "greater than or equal to 0"),
        ("PAVED_CATALOG_TLS_CERT_FILE", "/nonexistent/cert.pem", "tls_cert_file and tls_key_file"),
    ],
)
def test_bad_values_fail_at_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=problem):
        CatalogSettings()


def test_tls_files_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    monkeypatch.setenv("PAVED_CATALOG_TLS_CERT_FILE", str(cert))
    monkeypatch.setenv("PAVED_CATALOG_TLS_KEY_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="no such file"):
        CatalogSettings()
