"""One error vocabulary across services: every ErrorInfo reason a service names is in the kit's list, and
every NOT_FOUND / ALREADY_EXISTS names the resource in its metadata."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from paved_kit.errors import Reason

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "services").glob("*/src/**/*.py")) + sorted((ROOT / "libs/kit/src").glob("**/*.py"))
ERRORS = {
    "PavedError",
    "InvalidArgument",
    "NotFound",
    "AlreadyExists",
    "FailedPrecondition",
    "Aborted",
    "QuotaExceeded",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "Internal",
}


def error_calls() -> Iterator[tuple[str, ast.Call]]:
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ERRORS:
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def test_the_scan_sees_the_services() -> None:
    assert len(list(error_calls())) > 50


@pytest.mark.parametrize("where,call", list(error_calls()), ids=lambda v: v if isinstance(v, str) else "")
def test_reasons_come_from_the_kits_list(where: str, call: ast.Call) -> None:
    for keyword in call.keywords:
        if keyword.arg != "reason":
            continue
        value = keyword.value
        if isinstance(value, ast.Constant):
            assert value.value in Reason.__members__, f"{where}: reason {value.value!r} is not in Reason"
        elif (
            isinstance(value, ast.Attribute)
            and isinstance(value.value, ast.Name)
            and value.value.id == "Reason"
        ):
            assert value.attr in Reason.__members__, f"{where}: Reason.{value.attr} does not exist"


@pytest.mark.parametrize("where,call", list(error_calls()), ids=lambda v: v if isinstance(v, str) else "")
def test_not_found_and_already_exists_name_the_resource(where: str, call: ast.Call) -> None:
    assert isinstance(call.func, ast.Name)
    if call.func.id not in {"NotFound", "AlreadyExists"}:
        return
    assert any(k.arg == "metadata" for k in call.keywords), f"{where}: {call.func.id} without metadata"
