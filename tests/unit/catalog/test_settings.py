"""The catalog's own settings: values a render would put into manifests are checked at start-up."""

from __future__ import annotations

import pytest
from paved_catalog.settings import CatalogSettings
from pydantic import ValidationError


@pytest.mark.parametrize("tag", ["0.1.0", "v2", "1.4.2-rc_1", "sha256_" + "a" * 100, "A" * 128])
def test_default_image_tag_accepts_oci_tags(monkeypatch: pytest.MonkeyPatch, tag: str) -> None:
    monkeypatch.setenv("PAVED_CATALOG_DEFAULT_IMAGE_TAG", tag)
    assert CatalogSettings().default_image_tag == tag


@pytest.mark.parametrize("tag", ["", "-dev", ".hidden", "1.0/2", "läuft", "A" * 129])
def test_default_image_tag_refuses_what_a_registry_would(monkeypatch: pytest.MonkeyPatch, tag: str) -> None:
    monkeypatch.setenv("PAVED_CATALOG_DEFAULT_IMAGE_TAG", tag)
    with pytest.raises(ValidationError, match="default_image_tag"):
        CatalogSettings()
