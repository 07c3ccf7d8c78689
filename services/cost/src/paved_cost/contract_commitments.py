"""FOCUS 1.3 contract commitments: rows of the Contract Commitment dataset, and how much of each is used.

The dataset describes contract terms (ContractCommitmentId, its ContractId, Spend or Usage, the committed
cost or quantity over ContractCommitmentPeriodStart/End). Cost and Usage rows say which terms a charge
draws on in ContractApplied (a JSON array of ContractCommitmentId, ContractCommitmentAppliedCost,
ContractCommitmentAppliedQuantity, ContractCommitmentAppliedUnit). Use over a window is what the rows
applied, against the commitment prorated to the days of the window it covers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_cost.focus import RowError

COLUMNS: tuple[str, ...] = (
    "BillingCurrency",
    "ContractCommitmentCategory",
    "ContractCommitmentCost",
    "ContractCommitmentDescription",
    "ContractCommitmentId",
    "ContractCommitmentPeriodEnd",
    "ContractCommitmentPeriodStart",
    "ContractCommitmentQuantity",
    "ContractCommitmentType",
    "ContractCommitmentUnit",
    "ContractId",
    "ContractPeriodEnd",
    "ContractPeriodStart",
)
# The dataset's columns are all mandatory (some allow nulls).
MANDATORY = COLUMNS
CATEGORIES = frozenset({"Spend", "Usage"})


@dataclass(frozen=True)
class Commitment:
    contract_commitment_id: str
    contract_id: str
    category: str
    commitment_type: str
    description: str | None
    cost: Decimal | None
    quantity: Decimal | None
    unit: str | None
    billing_currency: str | None
    period_start: datetime
    period_end: datetime
    contract_period_start: datetime
    contract_period_end: datetime

    def committed(self) -> Decimal | None:
        """What the term commits to: cost for Spend, quantity for Usage."""
        return self.cost if self.category == "Spend" else self.quantity

    def prorated(self, start: datetime, end: datetime) -> Decimal:
        """The committed amount falling in [start, end), pro rata of the commitment period."""
        amount = self.committed() or Decimal(0)
        overlap = (min(end, self.period_end) - max(start, self.period_start)).total_seconds()
        if overlap <= 0:
            return Decimal(0)
        whole = (self.period_end - self.period_start).total_seconds()
        return amount * Decimal(str(overlap)) / Decimal(str(whole))


def check_header(index: dict[str, int]) -> None:
    missing = [column for column in MANDATORY if column not in index]
    if missing:
        raise InvalidArgument(
            "the contract commitment data lacks mandatory FOCUS columns",
            [FieldViolation("csv_chunk", f"missing mandatory FOCUS column {name}") for name in missing],
            reason="MISSING_FOCUS_COLUMN",
        )


def header_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        column = name.strip().lstrip("\ufeff")
        if column in COLUMNS and column not in index:
            index[column] = position
    return index


def parse_row(cells: list[str], index: dict[str, int], null_token: str) -> Commitment:
    """One commitment; :class:`RowError` names the first bad column."""
    if len(cells) <= max(index.values()):
        raise RowError("row", f"row has {len(cells)} cells, fewer than the header")
    nulls = {"", null_token}

    def value(column: str) -> str | None:
        text = cells[index[column]]
        return None if text in nulls else text

    def required(column: str) -> str:
        text = value(column)
        if text is None:
            raise RowError(column, "mandatory column is empty")
        return text

    commitment_id = required("ContractCommitmentId")
    contract_id = required("ContractId")
    category = required("ContractCommitmentCategory")
    if category not in CATEGORIES:
        raise RowError("ContractCommitmentCategory", f"{category[:40]!r} is not one of Spend, Usage")
    commitment_type = required("ContractCommitmentType")
    cost = _decimal("ContractCommitmentCost", value("ContractCommitmentCost"))
    quantity = _decimal("ContractCommitmentQuantity", value("ContractCommitmentQuantity"))
    unit = value("ContractCommitmentUnit")
    if category == "Spend" and cost is None:
        raise RowError("ContractCommitmentCost", "a Spend commitment needs its cost")
    if category == "Usage" and (quantity is None or unit is None):
        column = "ContractCommitmentQuantity" if quantity is None else "ContractCommitmentUnit"
        raise RowError(column, "a Usage commitment needs its quantity and unit")
    start = _time("ContractCommitmentPeriodStart", required("ContractCommitmentPeriodStart"))
    end = _time("ContractCommitmentPeriodEnd", required("ContractCommitmentPeriodEnd"))
    if end <= start:
        raise RowError("ContractCommitmentPeriodEnd", "must be after ContractCommitmentPeriodStart")
    contract_start = _time("ContractPeriodStart", required("ContractPeriodStart"))
    contract_end = _time("ContractPeriodEnd", required("ContractPeriodEnd"))
    if contract_end <= contract_start:
        raise RowError("ContractPeriodEnd", "must be after ContractPeriodStart")
    return Commitment(
        contract_commitment_id=commitment_id,
        contract_id=contract_id,
        category=category,
        commitment_type=commitment_type,
        description=value("ContractCommitmentDescription"),
        cost=cost,
        quantity=quantity,
        unit=unit,
        billing_currency=value("BillingCurrency"),
        period_start=start,
        period_end=end,
        contract_period_start=contract_start,
        contract_period_end=contract_end,
    )


def _decimal(column: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise RowError(column, f"not a decimal number: {text[:40]!r}") from None
    if not parsed.is_finite() or parsed < 0:
        raise RowError(column, f"not a finite non-negative number: {text[:40]!r}")
    return parsed


def _time(column: str, text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(column, f"not an ISO 8601 date-time: {text[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class Applied:
    """What one charge applied to one commitment."""

    contract_commitment_id: str
    cost: Decimal | None
    quantity: Decimal | None


def applied_entries(text: str) -> list[Applied]:
    """The entries of a ContractApplied cell; [] when it is not the documented JSON shape.

    Keys are matched ignoring case (the specification spells both ``ContractCommitmentId`` and ``...ID``).
    """
    try:
        parsed: Any = json.loads(text)
    except json.JSONDecodeError:
        return []
    if isinstance(parsed, dict):
        parsed = parsed.get("ContractApplied", [parsed])
    if not isinstance(parsed, list):
        return []
    entries = []
    for item in parsed:
        if not isinstance(item, dict):
            continue
        keys = {str(key).lower(): value for key, value in item.items()}
        commitment = keys.get("contractcommitmentid")
        if not isinstance(commitment, str) or not commitment:
            continue
        entries.append(
            Applied(
                commitment,
                _amount(keys.get("contractcommitmentappliedcost")),
                _amount(keys.get("contractcommitmentappliedquantity")),
            )
        )
    return entries


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


@dataclass(frozen=True)
class CommitmentUse:
    """A commitment's use over a window: applied against what the window's share of it commits."""

    commitment: Commitment
    applied: Decimal
    expected: Decimal

    @property
    def utilisation(self) -> float | None:
        return None if self.expected <= 0 else float(self.applied / self.expected)


def commitment_use(
    commitments: Iterable[Commitment],
    rows: Iterable[tuple[str | None, str]],
    start: datetime,
    end: datetime,
) -> tuple[list[CommitmentUse], dict[str, dict[str, Decimal]]]:
    """Use of each commitment active in [start, end), and the cost each service's rows applied per commitment.

    ``rows`` are (service, ContractApplied cell) of the charges in the window.
    """
    active = [c for c in commitments if c.period_start < end and start < c.period_end]
    by_id = {c.contract_commitment_id: c for c in active}
    applied: dict[str, Decimal] = {c.contract_commitment_id: Decimal(0) for c in active}
    per_service: dict[str, dict[str, Decimal]] = {}
    for service, cell in rows:
        for entry in applied_entries(cell):
            commitment = by_id.get(entry.contract_commitment_id)
            if commitment is None:
                continue
            amount = entry.cost if commitment.category == "Spend" else entry.quantity
            applied[commitment.contract_commitment_id] += amount or Decimal(0)
            if service is not None and entry.cost is not None:
                shares = per_service.setdefault(service, {})
                shares[commitment.contract_commitment_id] = (
                    shares.get(commitment.contract_commitment_id, Decimal(0)) + entry.cost
                )
    uses = [CommitmentUse(c, applied[c.contract_commitment_id], c.prorated(start, end)) for c in active]
    return uses, per_service
