"""Exported rules are valid Prometheus rules, and each default alert behaves in Prometheus as it does here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from paved_alerting.export import assumed_metrics, exportable, prometheus_rule, promql, rule_file
from paved_alerting.rules import Rule, build_rule, default_rule_drafts
from paved_alerting.templates import render


def defaults(service: str = "checkout", team: str = "payments") -> list[Rule]:
    return [
        build_rule(rule_id, draft, default_rule=True) for rule_id, draft in default_rule_drafts(service, team)
    ]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_promql_uses_the_standard_metric_names() -> None:
    by_name = {rule.alertname: promql(rule) for rule in exportable(defaults())}
    assert "AnomalyDetected" not in by_name  # no PromQL: evaluated over the history by the service itself
    assert by_name["ServiceDown"] == 'max by (service) (up{service="checkout"}) == 0'
    assert 'http_requests_total{service="checkout",code=~"5.."}' in by_name["HighErrorRate"]
    assert by_name["HighLatency"].startswith("histogram_quantile(0.99, sum by (service, le) (rate(")
    assert by_name["HighLatency"].endswith(" * 1000 > 1000")
    assert assumed_metrics(defaults()) == [
        "http_request_duration_seconds_bucket",
        "http_requests_total",
        "up",
    ]


def test_prometheus_rule_object_wraps_the_same_groups() -> None:
    rules = defaults() + defaults("search", "discovery")
    document = yaml.safe_load(prometheus_rule(rules, name="paved-alerts", namespace="monitoring"))
    assert document["apiVersion"] == "monitoring.coreos.com/v1"
    assert document["kind"] == "PrometheusRule"
    assert document["metadata"] == {
        "name": "paved-alerts",
        "namespace": "monitoring",
        "labels": {"app.kubernetes.io/managed-by": "paved", "app.kubernetes.io/component": "alerting"},
    }
    assert document["spec"] == yaml.safe_load(rule_file(rules))
    assert [group["name"] for group in document["spec"]["groups"]] == ["paved-checkout", "paved-search"]


def test_promtool_accepts_the_rule_file(promtool: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(rule_file(defaults() + defaults("search", "discovery")))
    result = run(promtool, "check", "rules", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def _expected(rule: Rule, value: float) -> dict[str, object]:
    labels = rule.alert_labels()
    return {
        "exp_labels": {key: value for key, value in labels.items() if key != "alertname"},
        "exp_annotations": {key: render(text, labels, value) for key, text in rule.annotations.items()},
    }


def test_promtool_unit_tests_of_each_default_alert_pass(promtool: str, tmp_path: Path) -> None:
    rules = {rule.alertname: rule for rule in defaults()}
    (tmp_path / "rules.yml").write_text(rule_file(rules.values()))
    # Every series is scraped once a minute. Errors are 10% of requests from the start; every request takes
    # between 0.5 s and 2 s (p99 interpolates to 1985 ms); the only instance is down from the start.
    # The rate() conditions first hold at 1m (two samples), `up == 0` at 0m.
    series = [
        ('http_requests_total{service="checkout",code="200"}', "0+90x30"),
        ('http_requests_total{service="checkout",code="500"}', "0+10x30"),
        ('http_request_duration_seconds_bucket{service="checkout",le="0.5"}', "0+0x30"),
        ('http_request_duration_seconds_bucket{service="checkout",le="2"}', "0+100x30"),
        ('http_request_duration_seconds_bucket{service="checkout",le="+Inf"}', "0+100x30"),
        ('up{service="checkout",instance="10.0.0.1:8080"}', "0x30"),
    ]
    p99 = (0.5 + (2 - 0.5) * (99 / 100)) * 1000
    cases = [
        ("HighErrorRate", "5m", None),  # pending for 4m
        ("HighErrorRate", "6m", 0.1),  # held for the whole 5m
        ("ServiceDown", "59s", None),
        ("ServiceDown", "1m", 0.0),
        ("HighLatency", "10m", None),
        ("HighLatency", "11m", p99),
    ]
    tests = [
        {
            "interval": "1m",
            "input_series": [{"series": name, "values": values} for name, values in series],
            "alert_rule_test": [
                {
                    "eval_time": at,
                    "alertname": alertname,
                    "exp_alerts": [] if value is None else [_expected(rules[alertname], value)],
                }
                for alertname, at, value in cases
            ],
        },
        {
            # Recovery: errors stop, the instance comes back, latency drops; every alert resolves.
            "interval": "1m",
            "input_series": [
                {"series": 'http_requests_total{service="checkout",code="200"}', "values": "0+90x30"},
                {
                    "series": 'http_requests_total{service="checkout",code="500"}',
                    "values": "0+10x10 100+0x20",
                },
                {"series": 'up{service="checkout",instance="10.0.0.1:8080"}', "values": "0x10 1x20"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "10m",
                    "alertname": "ServiceDown",
                    "exp_alerts": [_expected(rules["ServiceDown"], 0.0)],
                },
                {"eval_time": "11m", "alertname": "ServiceDown", "exp_alerts": []},
                {
                    "eval_time": "10m",
                    "alertname": "HighErrorRate",
                    "exp_alerts": [_expected(rules["HighErrorRate"], 0.1)],
                },
                {"eval_time": "17m", "alertname": "HighErrorRate", "exp_alerts": []},
            ],
        },
    ]
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump(
            {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}, sort_keys=False
        )
    )
    result = run(promtool, "test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
