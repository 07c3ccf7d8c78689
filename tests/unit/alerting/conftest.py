"""Fixtures of the alerting unit tests."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture
def promtool() -> str:
    """Path of promtool (Debian package `prometheus`); skipped locally without it, a failure in CI."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found: install Debian's `prometheus` package (apt-get install prometheus)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI is set, so this is an error", pytrace=False)
        pytest.skip(message)
    return path
