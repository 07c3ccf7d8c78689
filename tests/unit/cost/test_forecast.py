"""Month-end forecast and trend on synthetic series with known answers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from paved_cost.forecast import Direction, Month, project_month, trend


def series(start: date, end: date, cost: object) -> dict[date, Decimal]:
    out = {}
    day = start
    while day < end:
        out[day] = cost(day) if callable(cost) else Decimal(cost)  # type: ignore[arg-type]
        day += timedelta(days=1)
    return out


def test_constant_series_projects_days_in_month() -> None:
    daily = series(date(2024, 2, 1), date(2024, 2, 11), 5)
    result = project_month(daily, Month(2024, 2), today=date(2024, 2, 11))
    assert result.current == 50
    assert result.projected == 5 * 29  # leap year
    assert result.method == "weekday-weighted-run-rate-14d"


def test_today_is_forecast_not_taken_as_is() -> None:
    daily = series(date(2024, 3, 1), date(2024, 3, 10), 10)
    daily[date(2024, 3, 10)] = Decimal(1)  # partial day so far
    result = project_month(daily, Month(2024, 3), today=date(2024, 3, 10))
    assert result.current == 91
    assert result.projected == 310


def test_weekends_are_forecast_at_their_own_rate() -> None:
    def cost(day: date) -> Decimal:
        return Decimal(8) if day.weekday() < 5 else Decimal(1)

    daily = series(date(2024, 5, 1), date(2024, 5, 20), cost)
    result = project_month(daily, Month(2024, 5), today=date(2024, 5, 20))
    assert result.projected == sum(
        (cost(d) for d in series(date(2024, 5, 1), date(2024, 6, 1), 0)), Decimal(0)
    )


def test_recent_change_of_run_rate_dominates() -> None:
    daily = series(date(2024, 6, 1), date(2024, 6, 16), 2)
    daily |= series(date(2024, 6, 16), date(2024, 7, 1), 20)
    result = project_month(daily, Month(2024, 7), today=date(2024, 7, 1))
    # 14-day window is all at the new rate.
    assert result.projected == 20 * 31 and result.current == 0


def test_new_service_is_not_diluted_by_days_before_it_existed() -> None:
    daily = series(date(2024, 6, 27), date(2024, 6, 30), 9)
    result = project_month(daily, Month(2024, 6), today=date(2024, 6, 30))
    assert result.projected == 27 + 9


def test_past_month_is_actual_and_no_history_is_month_to_date() -> None:
    daily = series(date(2024, 1, 1), date(2024, 2, 1), 3)
    assert project_month(daily, Month(2024, 1), today=date(2024, 3, 5)).method == "actual"
    empty = project_month({}, Month(2024, 1), today=date(2024, 1, 5))
    assert (empty.current, empty.projected, empty.method) == (0, 0, "month-to-date")


@pytest.mark.parametrize(
    ("projected", "previous", "direction", "percent"),
    [
        (Decimal(110), Decimal(100), Direction.UP, 10.0),
        (Decimal(80), Decimal(100), Direction.DOWN, -20.0),
        (Decimal(104), Decimal(100), Direction.FLAT, 4.0),
        (Decimal(5), Decimal(0), Direction.NEW, 0.0),
        (Decimal(0), Decimal(0), Direction.FLAT, 0.0),
    ],
)
def test_trend(projected: Decimal, previous: Decimal, direction: Direction, percent: float) -> None:
    result = trend(projected, previous, flat_percent=5)
    assert (result.direction, result.percent) == (direction, percent)


def test_month_parsing_and_navigation() -> None:
    assert Month.parse("2024-12").next() == Month(2025, 1)
    assert Month(2025, 1).previous() == Month(2024, 12)
    assert str(Month(2024, 3)) == "2024-03"
    for bad in ("2024-13", "24-01", "2024/01", "", "0000-01", "9999-12"):
        with pytest.raises(ValueError):
            Month.parse(bad)
