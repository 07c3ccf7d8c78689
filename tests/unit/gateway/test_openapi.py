"""The committed OpenAPI document is the one the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from paved_gateway.app import create_app
from paved_gateway.settings import GatewaySettings

COMMITTED = Path(__file__).parents[3] / "services" / "gateway" / "openapi.json"


def test_committed_openapi_document_is_fresh() -> None:
    served = create_app(GatewaySettings.model_validate({})).openapi()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == served, (
        "regenerate: uv run python -m paved_gateway openapi > services/gateway/openapi.json"
    )


def test_validation_failures_are_documented_as_400() -> None:
    document = create_app(GatewaySettings.model_validate({})).openapi()
    create = document["paths"]["/api/services"]["post"]["responses"]
    assert "400" in create and "422" in create  # 422 is the policy override answer, not validation
    assert "HTTPValidationError" not in json.dumps(document)
