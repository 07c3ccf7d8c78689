"""A pin holds until its expiry and not a moment after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paved_catalog.models import ServiceEnvironmentRow
from paved_catalog.template_pins import active_pin, pin_violations

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _row(**values: object) -> ServiceEnvironmentRow:
    return ServiceEnvironmentRow(
        service="orders",
        environment="production",
        state="ACTIVE",
        etag='"e"',
        create_time=NOW,
        update_time=NOW,
        **values,
    )


def test_a_pin_holds_until_it_expires() -> None:
    row = _row(
        pin_revision=3, pin_reason="freeze", pin_expire_time=NOW + timedelta(hours=1), pinned_by="alice"
    )
    pin = active_pin(row, NOW)
    assert pin is not None and (pin.revision, pin.reason, pin.pinned_by) == (3, "freeze", "alice")
    assert active_pin(row, NOW + timedelta(hours=1)) is None
    assert active_pin(_row(), NOW) is None


def test_a_pin_needs_a_reason_and_an_expiry_within_a_year() -> None:
    assert pin_violations("freeze", NOW + timedelta(days=30), NOW) == []
    assert [v.field for v in pin_violations(" ", None, NOW)] == ["reason", "expire_time"]
    assert [v.field for v in pin_violations("x", NOW, NOW)] == ["expire_time"]
    assert [v.field for v in pin_violations("x", NOW + timedelta(days=400), NOW)] == ["expire_time"]
