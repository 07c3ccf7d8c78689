"""Money conversion: exact both ways, sign rules of google.type.Money, half-even rounding to nanos."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paved_cost.money import from_money, plain, to_money


@pytest.mark.parametrize(
    ("amount", "units", "nanos"),
    [
        (Decimal("744.60"), 744, 600_000_000),
        (Decimal("-1.5"), -1, -500_000_000),
        (Decimal("-0.25"), 0, -250_000_000),
        (Decimal("0.0000000005"), 0, 0),  # half-even: rounds to 0
        (Decimal("0.0000000015"), 0, 2),
    ],
)
def test_to_money(amount: Decimal, units: int, nanos: int) -> None:
    money = to_money(amount, "USD")
    assert (money.units, money.nanos, money.currency_code) == (units, nanos, "USD")


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=9, allow_nan=False, allow_infinity=False))
def test_round_trip_is_exact_at_nano_precision(amount: Decimal) -> None:
    money = to_money(amount, "EUR")
    assert from_money(money) == amount
    assert money.units == 0 or money.nanos == 0 or (money.units > 0) == (money.nanos > 0)


def test_plain_has_no_exponent() -> None:
    assert plain(Decimal("1E-7")) == "0.0000001"
