"""The alerting service starts with no configuration and refuses bad configuration."""

from __future__ import annotations

import os

import pytest
from paved_alerting.settings import AlertingSettings
from pydantic import ValidationError


def test_defaults_work_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PAVED_ALERTING_"):
            monkeypatch.delenv(name)
    settings = AlertingSettings()
    assert settings.port == 50055
    assert settings.database_url.endswith(".paved/alerting.db")
    assert settings.prometheus_url is None and settings.alertmanager_url is None


def test_bad_urls_are_refused_without_echoing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_ALERTING_DEFAULT_WEBHOOK_URL", "hooks.example/T0KEN")
    monkeypatch.setenv("PAVED_ALERTING_ALERTMANAGER_URL", "alertmanager:9093")
    with pytest.raises(ValidationError) as error:
        AlertingSettings()
    fields = {tuple(item["loc"]) for item in error.value.errors()}
    assert fields == {("default_webhook_url",), ("alertmanager_url",)}
    assert "T0KEN" not in str(error.value.errors(include_input=False))


def test_the_startup_dump_masks_credentials_in_urls() -> None:
    settings = AlertingSettings(
        prometheus_url="https://reader:pa55@prometheus.example:9090",
        alertmanager_url="http://alertmanager:9093",
        default_webhook_url="https://hooks.example/services/T0KEN",
    )
    dumped = str(settings.safe_dump())
    assert "pa55" not in dumped and "T0KEN" not in dumped
    assert "prometheus.example:9090" in dumped and "http://alertmanager:9093" in dumped
