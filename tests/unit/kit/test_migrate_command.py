"""The ``migrate`` command exists only for services with migrations; ``migrate_on_start`` defaults on."""

from __future__ import annotations

import pytest
from paved_kit.server import GrpcServer
from paved_kit.service import load_settings, run_service
from paved_kit.settings import BaseServiceSettings
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine


class DemoSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAVED_DEMO_")
    port: int = 0


async def _never_built(settings: DemoSettings, engine: AsyncEngine, server: GrpcServer) -> None:
    raise AssertionError("must not build")


def test_migrate_is_refused_without_migrations(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_service("demo", DemoSettings, _never_built, argv=["migrate"])

    assert exited.value.code == 2
    assert "invalid choice: 'migrate'" in capsys.readouterr().err


def test_migrate_on_start_defaults_on_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(DemoSettings).migrate_on_start is True

    monkeypatch.setenv("PAVED_DEMO_MIGRATE_ON_START", "false")

    assert load_settings(DemoSettings).migrate_on_start is False


def test_load_settings_names_every_bad_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAVED_DEMO_MIGRATE_ON_START", "sometimes")
    monkeypatch.setenv("PAVED_DEMO_PORT", "70000")

    with pytest.raises(SystemExit) as exited:
        load_settings(DemoSettings)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "PAVED_DEMO_MIGRATE_ON_START" in err
    assert "PAVED_DEMO_PORT" in err
