"""Annotation templates render as Prometheus renders them."""

from __future__ import annotations

import pytest
from paved_alerting.templates import format_go_float, render, template_problems


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.05, "0.05"),
        (1990.0, "1990"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001234, "1.234e-05"),
        (-2.0, "-2"),
        (0.0, "0"),
        (1 / 3, "0.3333333333333333"),
        (float("inf"), "+Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_values_print_like_go(value: float, text: str) -> None:
    assert format_go_float(value) == text


def test_labels_and_value_are_filled_in() -> None:
    text = "{{ $labels.service }} at {{$value}}; {{ $labels.missing }}"
    assert render(text, {"service": "checkout"}, 0.5) == "checkout at 0.5; <no value>"


@pytest.mark.parametrize("text", ["{{ .Value }}", "{{ $value | humanize }}", "oops }}", "{{ $labels.a-b }}"])
def test_unsupported_templates_are_reported(text: str) -> None:
    assert template_problems(text)


def test_plain_text_is_fine() -> None:
    assert template_problems("error rate is {{ $value }} on {{ $labels.service }}") == []
