"""ValidateParameters rules: unknown, missing, type, enum, pattern, range, DNS label — all at once."""

from __future__ import annotations

import time

from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document
from paved_catalog.parameters import check_parameters
from paved_catalog.spec import TemplateSpec


def _web_service() -> TemplateSpec:
    spec = parse_template_document(builtin_documents()["web-service.yaml"]).spec
    assert spec is not None
    return spec


def test_valid_parameters_are_resolved_with_defaults() -> None:
    check = check_parameters(
        _web_service(), {"service_name": "checkout", "language": "go", "min_instances": 3.0}
    )
    assert check.valid
    assert check.resolved["min_instances"] == 3
    assert isinstance(check.resolved["min_instances"], int)
    assert check.resolved["database"] == "postgres"
    assert check.resolved["instance_type"] == "t3.medium"
    assert "team" not in check.resolved


def test_every_violation_is_reported() -> None:
    check = check_parameters(
        _web_service(),
        {
            "service_name": "Checkout_Service",
            "language": "cobol",
            "min_instances": "three",
            "max_instances": 1000,
            "instance_type": "huge",
            "image": "evil/image:latest",
            "port": 2.5,
        },
    )
    assert not check.valid
    rules = {(v.field, v.rule) for v in check.violations}
    assert rules == {
        ("image", "UNKNOWN"),
        ("service_name", "DNS_LABEL"),
        ("language", "ENUM"),
        ("min_instances", "TYPE"),
        ("max_instances", "RANGE"),
        ("instance_type", "PATTERN"),
        ("port", "TYPE"),
    }
    assert check.resolved == {}


def test_missing_required() -> None:
    check = check_parameters(_web_service(), {})
    assert {(v.field, v.rule) for v in check.violations} == {
        ("service_name", "MISSING"),
        ("language", "MISSING"),
    }


def test_bool_is_not_an_int_and_int_is_not_a_bool() -> None:
    worker = parse_template_document(builtin_documents()["background-worker.yaml"]).spec
    assert worker is not None
    check = check_parameters(
        worker, {"service_name": "w", "language": "go", "min_instances": True, "spot": 1}
    )
    assert {(v.field, v.rule) for v in check.violations} == {("min_instances", "TYPE"), ("spot", "TYPE")}


def test_max_below_min_is_a_range_violation() -> None:
    check = check_parameters(
        _web_service(), {"service_name": "a", "language": "go", "min_instances": 5, "max_instances": 2}
    )
    assert [(v.field, v.rule) for v in check.violations] == [("max_instances", "RANGE")]


def test_dns_label_edge_cases() -> None:
    spec = _web_service()
    for bad in ("-a", "a-", "1abc", "a" * 64, "a.b", "a b", "ä"):
        check = check_parameters(spec, {"service_name": bad, "language": "go"})
        assert [v.rule for v in check.violations] == ["DNS_LABEL"], bad
    for good in ("a", "a-b", "a1", "a" * 63):
        assert check_parameters(spec, {"service_name": good, "language": "go"}).valid, good


def test_template_patterns_run_in_linear_time() -> None:
    document = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata: {name: t}
spec:
  parameters:
    - {name: service_name, type: string, required: true}
    - {name: slug, type: string, pattern: "(a+)+$"}
  resources:
    - {type: storage, template: "bucket: x"}
"""
    spec = parse_template_document(document).spec
    assert spec is not None
    start = time.perf_counter()
    check = check_parameters(spec, {"service_name": "s", "slug": "a" * 1000 + "!"})
    assert time.perf_counter() - start < 0.5  # backtracking engines take ages on this
    assert [(v.field, v.rule) for v in check.violations] == [("slug", "PATTERN")]


def test_invalid_patterns_are_document_violations() -> None:
    document = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata: {name: t}
spec:
  parameters:
    - {name: slug, type: string, pattern: "(?<=a)b"}
  resources:
    - {type: storage, template: "bucket: x"}
"""
    (violation,) = parse_template_document(document).violations
    assert violation.path == "spec.parameters[0].pattern"
    assert violation.message.startswith("invalid regular expression (RE2 syntax)")
