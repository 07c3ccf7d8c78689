"""The one place amounts cross between ``Decimal`` (all arithmetic) and ``google.type.Money`` (the wire)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from google.type import money_pb2

NANOS_PER_UNIT = 1_000_000_000
_NANO = Decimal("0.000000001")
CENT = Decimal("0.01")


def to_money(amount: Decimal, currency: str) -> money_pb2.Money:
    """``amount`` as Money, rounded half-even to nanos; units and nanos share the sign as Money requires."""
    quantized = amount.quantize(_NANO, rounding=ROUND_HALF_EVEN)
    total_nanos = int(quantized * NANOS_PER_UNIT)
    sign = -1 if total_nanos < 0 else 1
    units, nanos = divmod(abs(total_nanos), NANOS_PER_UNIT)
    return money_pb2.Money(currency_code=currency, units=sign * units, nanos=sign * nanos)


def from_money(money: money_pb2.Money) -> Decimal:
    """The exact Decimal value of ``money``."""
    return Decimal(money.units) + Decimal(money.nanos) / NANOS_PER_UNIT


def round_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half-even to cents, for human-facing totals."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def plain(amount: Decimal) -> str:
    """A decimal string without exponent (``1E-7`` → ``0.0000001``)."""
    return format(amount, "f")
