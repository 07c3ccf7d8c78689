"""PostgreSQL fast path of a CSV import: the server parses the CSV (COPY) and validates it in SQL.

Python never touches the rows: chunks stream from gRPC into ``COPY ... FROM STDIN (FORMAT csv)`` of a
temporary staging table, SQL finds each bad row's first problem (the same rules and messages as
:mod:`paved_cost.focus`), and ``INSERT ... SELECT`` publishes the good rows and the daily totals.
Like store.py, it only runs statements on the session it is given and never commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost.focus import CHARGE_CATEGORIES, MAX_REJECTIONS, RECORD_FIELDS, RowRejection

STAGE = "cost_focus_stage"
TAG_MAP = "cost_focus_tags"
_NUMBER = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
_NUMERIC_COLUMNS = ("ListCost", "ContractedCost", "ConsumedQuantity")


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _quote(literal: str) -> str:
    return "'" + literal.replace("'", "''") + "'"


class Stage:
    """One import's staging table; ``index`` maps FOCUS columns to CSV positions (from the header)."""

    def __init__(self, session: AsyncSession, header: Sequence[str], index: dict[str, int], null_token: str):
        self.session = session
        self.width = len(header)
        self.index = index
        self.null_token = null_token

    def col(self, column: str) -> str:
        """SQL of a FOCUS column's value with empty cells and the null token as NULL."""
        position = self.index.get(column)
        if position is None:
            return "NULL::text"
        token = _quote(self.null_token) if self.null_token else "''"
        return f"NULLIF(NULLIF(c{position}, ''), {token})"

    async def create(self) -> None:
        columns = ", ".join(f"c{i} text" for i in range(self.width))
        await self.session.execute(text("SET LOCAL TimeZone = 'UTC'"))
        await self.session.execute(
            text(
                f"CREATE TEMPORARY TABLE {STAGE} (row_no bigint GENERATED ALWAYS AS IDENTITY, {columns}) "
                "ON COMMIT DROP"
            )
        )

    async def copy(self, chunks: AsyncIterator[bytes]) -> None:
        """Stream CSV bytes (header line first) into the stage; COPY keeps file order in row_no."""
        driver = await _driver(self.session)
        await driver.copy_to_table(
            STAGE, source=chunks, columns=[f"c{i}" for i in range(self.width)], format="csv", header=True
        )

    async def rows_read(self) -> int:
        return int((await self.session.execute(text(f"SELECT count(*) FROM {STAGE}"))).scalar_one())

    def _problem_sql(self) -> str:
        """A CASE giving ``column|message`` of a row's first problem, in the order focus.RowParser checks."""
        c = self.col
        checks: list[tuple[str, str]] = [
            (f"{c('BilledCost')} IS NULL", "'BilledCost|mandatory column is empty'"),
            (
                f"{c('BilledCost')} !~ '{_NUMBER}' OR lower({c('BilledCost')}) ~ 'nan|inf'",
                f"'BilledCost|not a decimal number: ' || quote_literal(left({c('BilledCost')}, 40))",
            ),
            (
                f"{c('EffectiveCost')} !~ '{_NUMBER}'",
                f"'EffectiveCost|not a decimal number: ' || quote_literal(left({c('EffectiveCost')}, 40))",
            ),
        ]
        for start, end in (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd")):
            for column in (start, end):
                checks.append((f"{c(column)} IS NULL", f"'{column}|mandatory column is empty'"))
                checks.append(
                    (
                        f"{c(column)} !~ '{_TIME}'",
                        f"'{column}|not an ISO 8601 date-time: ' || quote_literal(left({c(column)}, 40))",
                    )
                )
            checks.append(
                (
                    f"{c(end)}::timestamptz < {c(start)}::timestamptz",
                    f"'{end}|{end} is before {start}'",
                )
            )
        categories = ", ".join(_quote(v) for v in sorted(CHARGE_CATEGORIES))
        checks.append((f"{c('ChargeCategory')} IS NULL", "'ChargeCategory|mandatory column is empty'"))
        checks.append(
            (
                f"{c('ChargeCategory')} NOT IN ({categories})",
                f"'ChargeCategory|' || quote_literal(left({c('ChargeCategory')}, 40)) || "
                f"' is not one of {', '.join(sorted(CHARGE_CATEGORIES))}'",
            )
        )
        checks.append((f"{c('Tags')} IS NOT NULL AND NOT t.valid", "'Tags|not a JSON object'"))
        for column in _NUMERIC_COLUMNS:
            checks.append(
                (
                    f"{c(column)} !~ '{_NUMBER}'",
                    f"'{column}|not a decimal number: ' || quote_literal(left({c(column)}, 40))",
                )
            )
        cases = " ".join(f"WHEN {condition} THEN {message}" for condition, message in checks)
        return f"CASE {cases} ELSE NULL END"

    async def distinct_tags(self) -> list[str]:
        result = await self.session.execute(
            text(f"SELECT DISTINCT {self.col('Tags')} FROM {STAGE} WHERE {self.col('Tags')} IS NOT NULL")
        )
        return [row[0] for row in result]

    async def load_tag_map(self, entries: Sequence[tuple[str, bool, str | None, str | None, str | None]]) -> None:
        """(raw tags, valid, normalized JSON, service, team) per distinct tags value."""
        await self.session.execute(
            text(
                f"CREATE TEMPORARY TABLE {TAG_MAP} (raw text PRIMARY KEY, valid boolean, tags text, "
                "service text, team text) ON COMMIT DROP"
            )
        )
        if entries:
            driver = await _driver(self.session)
            await driver.copy_records_to_table(TAG_MAP, records=list(entries))

    def _joined(self) -> str:
        return f"{STAGE} s LEFT JOIN {TAG_MAP} t ON t.raw = {self.col('Tags')}"

    async def mark_problems(self) -> tuple[int, list[RowRejection]]:
        """Record each row's first problem in the stage; returns the number of bad rows and the first ones."""
        await self.session.execute(text(f"ALTER TABLE {STAGE} ADD COLUMN problem text"))
        await self.session.execute(
            text(
                f"UPDATE {STAGE} s SET problem = p.problem FROM (SELECT s.row_no, {self._problem_sql()} AS problem "
                f"FROM {self._joined()}) p WHERE p.row_no = s.row_no AND p.problem IS NOT NULL"
            )
        )
        count = int(
            (await self.session.execute(text(f"SELECT count(*) FROM {STAGE} WHERE problem IS NOT NULL"))).scalar_one()
        )
        result = await self.session.execute(
            text(
                f"SELECT row_no, problem FROM {STAGE} WHERE problem IS NOT NULL ORDER BY row_no LIMIT {MAX_REJECTIONS}"
            )
        )
        rejections = []
        for row_no, problem in result:
            column, _, message = problem.partition("|")
            rejections.append(RowRejection(int(row_no), column, message))
        return count, rejections

    def _ts(self, column: str) -> str:
        return f"{self.col(column)}::timestamptz"

    def _num(self, column: str) -> str:
        return f"trim({self.col(column)})::numeric"

    async def billing_periods(self) -> list[str]:
        result = await self.session.execute(
            text(
                f"SELECT DISTINCT to_char({self._ts('BillingPeriodStart')}, 'YYYY-MM') FROM {STAGE} "
                "WHERE problem IS NULL ORDER BY 1"
            )
        )
        return [row[0] for row in result]

    async def publish(self, source: str, default_currency: str) -> tuple[int, Decimal]:
        """Insert the good rows and their daily totals; returns (rows, billed cost in the default currency)."""
        c = self.col
        currency = f"coalesce({c('BillingCurrency')}, {_quote(default_currency)})"
        billed = self._num("BilledCost")
        values = {
            "source": _quote(source),
            "billing_period": f"to_char({self._ts('BillingPeriodStart')}, 'YYYY-MM')",
            "charge_period_start": self._ts("ChargePeriodStart"),
            "charge_period_end": self._ts("ChargePeriodEnd"),
            "billing_period_start": self._ts("BillingPeriodStart"),
            "billing_period_end": self._ts("BillingPeriodEnd"),
            "charge_category": c("ChargeCategory"),
            "pricing_category": c("PricingCategory"),
            "provider_name": c("ProviderName"),
            "service_name": c("ServiceName"),
            "service_category": c("ServiceCategory"),
            "region_id": c("RegionId"),
            "sub_account_id": c("SubAccountId"),
            "resource_id": c("ResourceId"),
            "resource_type": c("ResourceType"),
            "sku_id": c("SkuId"),
            "billing_currency": currency,
            "billed_cost": billed,
            "effective_cost": f"coalesce({self._num('EffectiveCost')}, {billed})",
            "list_cost": self._num("ListCost"),
            "contracted_cost": self._num("ContractedCost"),
            "consumed_quantity": self._num("ConsumedQuantity"),
            "consumed_unit": c("ConsumedUnit"),
            "commitment_discount_id": c("CommitmentDiscountId"),
            "commitment_discount_type": c("CommitmentDiscountType"),
            "tags": "t.tags",
            "service": "t.service",
            "team": "t.team",
        }
        assert set(values) == set(RECORD_FIELDS)
        names = ", ".join(RECORD_FIELDS)
        selected = ", ".join(values[name] for name in RECORD_FIELDS)
        result = await self.session.execute(
            text(
                f"INSERT INTO cost_billing_row ({names}) SELECT {selected} FROM {self._joined()} "
                "WHERE s.problem IS NULL"
            )
        )
        rows = int(result.rowcount or 0)  # type: ignore[attr-defined]
        await self.session.execute(
            text(
                "INSERT INTO cost_daily (source, billing_period, day, service, team, currency, effective_cost, "
                "billed_cost, rows) SELECT source, billing_period, (charge_period_start AT TIME ZONE 'UTC')::date, "
                "service, team, billing_currency, sum(effective_cost), sum(billed_cost), count(*) "
                "FROM cost_billing_row WHERE source = :source AND billing_period = ANY(:periods) "
                "GROUP BY 1, 2, 3, 4, 5, 6"
            ),
            {"source": source, "periods": await self.billing_periods()},
        )
        total = (
            await self.session.execute(
                text(
                    "SELECT coalesce(sum(billed_cost), 0) FROM cost_daily WHERE source = :source "
                    "AND billing_period = ANY(:periods) AND currency = :currency"
                ),
                {"source": source, "periods": await self.billing_periods(), "currency": default_currency},
            )
        ).scalar_one()
        return rows, Decimal(total)

    async def rows_per_period(self, source: str) -> dict[str, int]:
        result = await self.session.execute(
            text(
                "SELECT billing_period, sum(rows) FROM cost_daily WHERE source = :source "
                "AND billing_period = ANY(:periods) GROUP BY 1"
            ),
            {"source": source, "periods": await self.billing_periods()},
        )
        return {period: int(rows) for period, rows in result}
