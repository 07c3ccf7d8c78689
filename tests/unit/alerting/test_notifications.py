"""Alertmanager-compatible payloads, fingerprints and routing."""

from __future__ import annotations

from paved_alerting.evaluator import AlertState, AlertStatus
from paved_alerting.fingerprint import fingerprint
from paved_alerting.notifications import (
    ReceiverTarget,
    alertmanager_alerts,
    rfc3339,
    route,
    snapshot,
    webhook_payload,
)
from paved_alerting.rules import build_rule, default_rule_drafts


def test_fingerprints_match_prometheus() -> None:
    # Reference values from prometheus/common model/signature_test.go.
    assert fingerprint({}) == f"{14695981039346656037:016x}"
    assert (
        fingerprint({"name": "garland, briggs", "fear": "love is not enough"})
        == f"{5799056148416392346:016x}"
    )


def test_times_are_rfc3339_utc() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_800_000_000.25) == "2027-01-15T08:00:00.25Z"


def test_webhook_payload_has_alertmanager_s_shape() -> None:
    rule_id, draft = default_rule_drafts("checkout", "payments")[0]
    rule = build_rule(rule_id, draft, default_rule=True)
    status = AlertStatus(rule_id, AlertState.RESOLVED, 0.002, 100.0, 400.0, 460.0)
    alert = snapshot(rule, status, fingerprint(rule.alert_labels()), "https://portal.example")
    payload = webhook_payload("payments-oncall", [alert], "https://portal.example")
    assert payload["version"] == "4"
    assert payload["status"] == "resolved"
    assert payload["receiver"] == "payments-oncall"
    assert payload["groupKey"] == '{}:{alertname="HighErrorRate", service="checkout"}'
    assert payload["groupLabels"] == {"alertname": "HighErrorRate", "service": "checkout"}
    assert payload["commonLabels"]["severity"] == "warning"
    assert payload["commonAnnotations"]["description"].startswith("error_rate of service checkout is 0.002")
    assert payload["externalURL"] == "https://portal.example"
    [item] = payload["alerts"]
    assert item["status"] == "resolved"
    assert item["startsAt"] == "1970-01-01T00:06:40Z"
    assert item["endsAt"] == "1970-01-01T00:07:40Z"
    assert item["generatorURL"] == "https://portal.example/alertRules/checkout-high-error-rate"
    assert item["fingerprint"] == fingerprint(item["labels"])
    firing = snapshot(rule, AlertStatus(rule_id, AlertState.FIRING, 0.5, 100.0, 400.0), "f", "u")
    assert webhook_payload("r", [firing], "u")["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert alertmanager_alerts([firing], valid_until=700)[0]["endsAt"] == "1970-01-01T00:11:40Z"
    assert alertmanager_alerts([alert], valid_until=700)[0]["endsAt"] == "1970-01-01T00:07:40Z"


def test_teams_get_their_own_receivers_or_the_default() -> None:
    receivers = [
        ReceiverTarget("default", "", "http://d"),
        ReceiverTarget("pay", "payments", "http://p"),
        ReceiverTarget("pay2", "payments", "http://p2"),
    ]
    assert [r.name for r in route("payments", receivers)] == ["pay", "pay2"]
    assert [r.name for r in route("search", receivers)] == ["default"]
    assert route("search", receivers[1:]) == []


def test_receiver_urls_are_shown_without_credentials() -> None:
    from paved_alerting.receivers import masked_url

    assert masked_url("https://bot:s3cret@hooks.example/notify?token=abc&x=1") == (
        "https://bot:***@hooks.example/notify?token=***&x=***"
    )
    assert masked_url("http://alertmanager:9093/") == "http://alertmanager:9093/"
