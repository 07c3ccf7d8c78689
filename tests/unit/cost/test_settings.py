"""Cost settings: defaults that work with no configuration, nested overrides, refusal of contradictions."""

from __future__ import annotations

import pytest
from paved_cost.settings import CostSettings
from pydantic import ValidationError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAVED_COST_PROVISIONING_ADDRESS", "PAVED_COST_DATABASE_URL", "PAVED_COST_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = CostSettings()
    assert settings.port == 50054 and settings.provisioning_address == ""
    assert settings.database_url.endswith(".paved/cost.db")
    assert settings.recommendations.rightsize_max_utilization == 0.3
    assert settings.roi.hourly_rate == 150


def test_nested_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_COST_RECOMMENDATIONS__RIGHTSIZE_MAX_UTILIZATION", "0.25")
    monkeypatch.setenv("PAVED_COST_TEAM_TAG_KEYS", '["squad"]')
    settings = CostSettings()
    assert settings.recommendations.rightsize_max_utilization == 0.25
    assert settings.team_tag_keys == ["squad"]


def test_auto_optimize_threshold_cannot_exceed_rightsize() -> None:
    with pytest.raises(ValidationError, match="auto_optimize_max_utilization"):
        CostSettings(recommendations={"rightsize_max_utilization": 0.1, "auto_optimize_max_utilization": 0.2})


def test_missing_price_catalog_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="price_catalog_file"):
        CostSettings(price_catalog_file=tmp_path / "absent.json")
