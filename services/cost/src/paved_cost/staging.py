"""PostgreSQL fast path of a CSV import: the server parses the CSV (COPY) and checks it in SQL.

Python never touches the rows: chunks stream from gRPC into ``COPY ... FROM STDIN (FORMAT csv)`` of a
temporary staging table; one ``INSERT ... SELECT`` casts and checks every row (the rules and messages of
:mod:`paved_cost.focus`) and stores the good ones with their daily totals. Only when rows are bad does
a validation pass name them (with regular expressions first when some value does not even cast).
Like store.py, this module only runs statements on the session it is given and never commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost.focus import CHARGE_CATEGORIES, MAX_REJECTIONS, RECORD_FIELDS, RowRejection

TEMP_BUFFERS = "512MB"
WORK_MEM = "64MB"
STAGE = "cost_focus_stage"
TAG_MAP = "cost_focus_tags"
BAD = "cost_focus_bad"
_NUMBER = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
_AMOUNTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity")
_TIMES = (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd"))
_CATEGORIES = ", ".join(f"'{value}'" for value in sorted(CHARGE_CATEGORIES))
_TEXTS = {
    "charge_category": "ChargeCategory",
    "pricing_category": "PricingCategory",
    "provider_name": "ProviderName",
    "service_name": "ServiceName",
    "service_category": "ServiceCategory",
    "region_id": "RegionId",
    "sub_account_id": "SubAccountId",
    "resource_type": "ResourceType",
    "sku_id": "SkuId",
    "consumed_unit": "ConsumedUnit",
    "commitment_discount_id": "CommitmentDiscountId",
    "commitment_discount_type": "CommitmentDiscountType",
    "contract_applied": "ContractApplied",
}


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


def _quote(literal: str) -> str:
    return "'" + literal.replace("'", "''") + "'"


def _snake(column: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in column).lstrip("_")


def _problem(column: str, message_sql: str) -> str:
    return f"'{column}|' || {message_sql}"


def is_data_error(err: BaseException) -> bool:
    """Whether ``err`` (possibly wrapped by SQLAlchemy) is PostgreSQL refusing a value (SQLSTATE class 22)."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, asyncpg.PostgresError):
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return isinstance(cause, asyncpg.DataError)


class Stage:
    """One import's staging tables; ``index`` maps FOCUS columns to CSV positions (from the header)."""

    def __init__(self, session: AsyncSession, width: int, index: dict[str, int], null_token: str) -> None:
        self.session = session
        self.width = width
        self.index = index
        self.null_token = null_token

    def col(self, column: str) -> str:
        """SQL of a FOCUS column's raw value, with empty cells and the null token as NULL."""
        position = self.index.get(column)
        if position is None:
            return "NULL::text"
        token = _quote(self.null_token) if self.null_token else "''"
        return f"NULLIF(NULLIF(s.c{position}, ''), {token})"

    async def _run(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return await SAAsyncSession.execute(self.session, text(sql), params or {})

    async def create(self) -> None:
        columns = ", ".join(f"c{i} text" for i in range(self.width))
        await self._run("SET LOCAL TimeZone = 'UTC'")
        await self._run(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # Temporary tables live in per-connection buffers (8 MB by default): a big import would spill to
        # disk on every pass. The size can only change before the connection first uses a temporary table,
        # and a pooled connection keeps it, so it is set once per connection.
        current = (await self._run("SHOW temp_buffers")).scalar_one()
        if current != TEMP_BUFFERS:
            await self._run(f"SET temp_buffers = '{TEMP_BUFFERS}'")
        await self._run(
            f"CREATE TEMPORARY TABLE {STAGE} (row_no bigint GENERATED ALWAYS AS IDENTITY, "
            f"{columns}) ON COMMIT DROP"
        )

    async def copy(self, chunks: AsyncIterator[bytes]) -> None:
        """Stream CSV bytes (header line first) into the stage; COPY keeps file order in row_no."""
        driver = await _driver(self.session)
        await driver.copy_to_table(
            STAGE, source=chunks, columns=[f"c{i}" for i in range(self.width)], format="csv", header=True
        )

    async def rows_read(self) -> int:
        return int((await self._run(f"SELECT count(*) FROM {STAGE}")).scalar_one())

    def tag_key(self) -> str:
        """SQL of a row's tag map key: its Tags, or with FOCUS 1.3 AllocatedTags both as a JSON pair."""
        if "AllocatedTags" not in self.index:
            return self.col("Tags")
        return f"json_build_array({self.col('Tags')}, {self.col('AllocatedTags')})::text"

    def _has_tags(self) -> str:
        if "AllocatedTags" not in self.index:
            return f"{self.col('Tags')} IS NOT NULL"
        return f"({self.col('Tags')} IS NOT NULL OR {self.col('AllocatedTags')} IS NOT NULL)"

    async def distinct_tags(self) -> list[tuple[str, str | None, str | None]]:
        """(map key, Tags, AllocatedTags) per distinct tag cells of the rows."""
        result = await self._run(
            f"SELECT DISTINCT {self.tag_key()}, {self.col('Tags')}, {self.col('AllocatedTags')} "
            f"FROM {STAGE} s WHERE {self._has_tags()}"
        )
        return [(row[0], row[1], row[2]) for row in result]

    async def load_tag_map(
        self, entries: Sequence[tuple[str, str | None, str | None, str | None, str | None]]
    ) -> None:
        """(key, bad column or None, normalized JSON, service, team) per distinct tag cells."""
        await self._run(
            f"CREATE TEMPORARY TABLE {TAG_MAP} (raw text PRIMARY KEY, bad_column text, tags text, "
            "service text, team text) ON COMMIT DROP"
        )
        if entries:
            driver = await _driver(self.session)
            await driver.copy_records_to_table(TAG_MAP, records=list(entries))

    async def validate(self, default_currency: str) -> tuple[int, list[RowRejection]]:
        """Name each bad row's first problem (kept in a small table); good rows are the others.

        Returns the number of bad rows and the first :data:`MAX_REJECTIONS` of them.
        """
        await self._run(
            f"CREATE TEMPORARY TABLE {BAD} (row_no bigint PRIMARY KEY, problem text) ON COMMIT DROP"
        )
        checked = (
            f"SELECT row_no, problem FROM (SELECT x.row_no, {self._cases()} AS problem FROM (@TYPED@) x) y "
        )
        checked += "WHERE problem IS NOT NULL"
        try:
            async with self.session.begin_nested():
                typed = self._typed(default_currency)
                await self._run(f"INSERT INTO {BAD} " + checked.replace("@TYPED@", typed))
        except DBAPIError as err:
            if not is_data_error(err):
                raise
            # Some value does not cast: find those rows by pattern first, then check the others.
            await self._run(f"INSERT INTO {BAD} {self._pattern_problems()}")
            typed = self._typed(default_currency, good_only=True)
            await self._run(f"INSERT INTO {BAD} " + checked.replace("@TYPED@", typed))
        count = int((await self._run(f"SELECT count(*) FROM {BAD}")).scalar_one())
        result = await self._run(f"SELECT row_no, problem FROM {BAD} ORDER BY row_no LIMIT {MAX_REJECTIONS}")
        rejections = []
        for row_no, problem in result:
            column, _, message = problem.partition("|")
            rejections.append(RowRejection(int(row_no), column, message))
        return count, rejections

    def _pattern_problems(self) -> str:
        """Rows whose numbers or times would not cast, with the first such column (regex checks)."""
        c = self.col
        cases = []
        for column in ("BilledCost", "EffectiveCost"):
            cases.append(
                f"WHEN {c(column)} !~ '{_NUMBER}' THEN "
                + _problem(column, f"'not a decimal number: ' || quote_literal(left({c(column)}, 40))")
            )
        for pair in _TIMES:
            for column in pair:
                cases.append(
                    f"WHEN {c(column)} !~ '{_TIME}' THEN "
                    + _problem(
                        column, f"'not an ISO 8601 date-time: ' || quote_literal(left({c(column)}, 40))"
                    )
                )
        for column in ("ListCost", "ContractedCost", "ConsumedQuantity"):
            cases.append(
                f"WHEN {c(column)} !~ '{_NUMBER}' THEN "
                + _problem(column, f"'not a decimal number: ' || quote_literal(left({c(column)}, 40))")
            )
        return (
            f"SELECT row_no, problem FROM (SELECT s.row_no, CASE {' '.join(cases)} ELSE NULL END AS problem "
            f"FROM {STAGE} s) x WHERE problem IS NOT NULL"
        )

    def _typed(self, default_currency: str, good_only: bool = False) -> str:
        """SELECT of every stage row with its values cast (raw time text kept for the shape check)."""
        c = self.col
        inner = ["s.row_no"]
        for column in _AMOUNTS:
            inner.append(f"trim({c(column)})::numeric AS {_snake(column)}")
        for pair in _TIMES:
            for column in pair:
                inner.append(f"{c(column)}::timestamptz AS {_snake(column)}")
                inner.append(f"{c(column)} AS {_snake(column)}_raw")
        for name, column in _TEXTS.items():
            inner.append(f"{c(column)} AS {name}")
        # A FOCUS 1.3 split-cost row is the allocated resource's cost.
        inner.append(f"coalesce({c('AllocatedResourceId')}, {c('ResourceId')}) AS resource_id")
        inner.append(f"coalesce({c('BillingCurrency')}, {_quote(default_currency)}) AS billing_currency")
        inner.append(f"{self._has_tags()} AS has_tags")
        inner += ["t.bad_column AS tags_bad_column", "t.tags", "t.service", "t.team"]
        where = self._good() if good_only else "TRUE"
        joined = f"{STAGE} s LEFT JOIN {TAG_MAP} t ON t.raw = {self.tag_key()}"
        # OFFSET 0 keeps the planner from pushing an outer filter (which casts) below this WHERE, where
        # it would meet the rows known bad.
        return f"SELECT {', '.join(inner)} FROM {joined} WHERE {where} OFFSET 0"

    @staticmethod
    def _good() -> str:
        return f"NOT EXISTS (SELECT 1 FROM {BAD} b WHERE b.row_no = s.row_no)"

    def _cases(self) -> str:
        """CASE naming a typed row's first problem as ``column|message``, in focus.RowParser's order."""
        empty = "'mandatory column is empty'"
        cases = [f"WHEN billed_cost IS NULL THEN {_problem('BilledCost', empty)}"]
        for column in ("BilledCost", "EffectiveCost"):
            cases.append(self._non_finite(column))
        for start, end in _TIMES:
            for column in (start, end):
                name = _snake(column)
                cases.append(f"WHEN {name} IS NULL THEN {_problem(column, empty)}")
                cases.append(
                    # The cast accepted it; this keeps PostgreSQL's extra spellings ('today', '9/18/2024')
                    # out, as Python's ISO parser does. Plain character tests: a regex per cell costs more.
                    f"WHEN substr({name}_raw, 5, 1) <> '-' OR substr({name}_raw, 8, 1) <> '-' THEN "
                    + _problem(
                        column, f"'not an ISO 8601 date-time: ' || quote_literal(left({name}_raw, 40))"
                    )
                )
            before = f"'{end} is before {start}'"
            cases.append(f"WHEN {_snake(end)} < {_snake(start)} THEN {_problem(end, before)}")
        cases.append(f"WHEN charge_category IS NULL THEN {_problem('ChargeCategory', empty)}")
        cases.append(
            f"WHEN charge_category NOT IN ({_CATEGORIES}) THEN "
            + _problem(
                "ChargeCategory",
                f"quote_literal(left(charge_category, 40)) || ' is not one of "
                f"{', '.join(sorted(CHARGE_CATEGORIES))}'",
            )
        )
        cases.append(
            "WHEN has_tags AND tags_bad_column IS NOT NULL THEN tags_bad_column || '|not a JSON object'"
        )
        for column in ("ListCost", "ContractedCost", "ConsumedQuantity"):
            cases.append(self._non_finite(column))
        return f"CASE {' '.join(cases)} ELSE NULL END"

    @staticmethod
    def _non_finite(column: str) -> str:
        name = _snake(column)
        non_finite = "'NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric"
        return f"WHEN {name} IN ({non_finite}) THEN " + _problem(
            column, f"'not a finite number: ' || quote_literal({name}::text)"
        )

    async def billing_periods(self, exclude_bad: bool) -> list[str]:
        """Billing periods (YYYY-MM) of the rows (only of those not known bad, with ``exclude_bad``)."""
        start = self.col("BillingPeriodStart")
        good = self._good() if exclude_bad else "TRUE"
        result = await self._run(
            f"SELECT DISTINCT to_char({start}::timestamptz, 'YYYY-MM') FROM {STAGE} s "
            f"WHERE {start} IS NOT NULL AND {good} ORDER BY 1"
        )
        return [row[0] for row in result]

    async def publish(
        self, source: str, default_currency: str, exclude_bad: bool
    ) -> tuple[dict[str, int], Decimal]:
        """Insert the rows without problems and their daily totals in one statement.

        Checks each row as it goes (rows with a problem are skipped, not reported: :meth:`validate`
        names them), so an import of good data needs no separate validation pass. A value that does
        not cast raises; ``exclude_bad`` skips the rows :meth:`validate` already found bad.
        Returns rows per billing period and the billed cost in the default currency.
        """
        values = {name: name for name in RECORD_FIELDS}
        values["source"] = ":source"
        values["billing_period"] = "to_char(billing_period_start, 'YYYY-MM')"
        values["effective_cost"] = "coalesce(effective_cost, billed_cost)"
        result = await self._run(
            f"WITH inserted AS (INSERT INTO cost_billing_row ({', '.join(RECORD_FIELDS)}) "
            f"SELECT {', '.join(values[name] for name in RECORD_FIELDS)} "
            f"FROM (SELECT x.*, {self._cases()} AS problem "
            f"FROM ({self._typed(default_currency, good_only=exclude_bad)}) x) y WHERE problem IS NULL "
            "RETURNING billing_period, charge_period_start, service, team, billing_currency, effective_cost, "
            "billed_cost), "
            "daily AS (INSERT INTO cost_daily (source, billing_period, day, service, team, currency, "
            "effective_cost, billed_cost, rows) SELECT :source, billing_period, "
            "(charge_period_start AT TIME ZONE 'UTC')::date, service, team, billing_currency, "
            "sum(effective_cost), sum(billed_cost), count(*) FROM inserted GROUP BY 2, 3, 4, 5, 6 "
            "RETURNING billing_period, currency, rows, billed_cost) "
            "SELECT billing_period, currency, sum(rows), sum(billed_cost) FROM daily GROUP BY 1, 2",
            {"source": source},
        )
        rows: dict[str, int] = {}
        billed = Decimal(0)
        for period, currency, count, total in result:
            rows[period] = rows.get(period, 0) + int(count)
            if currency == default_currency:
                billed += Decimal(total)
        return rows, billed
