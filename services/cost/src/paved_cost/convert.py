"""Proto ⇄ domain conversion for the cost servicer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved_kit.errors import FieldViolation, InvalidArgument

from paved_cost.analysis import MonthReport
from paved_cost.contract_commitments import CommitmentUse
from paved_cost.estimate import Estimate
from paved_cost.focus import COLUMNS
from paved_cost.forecast import Direction
from paved_cost.ingest import CsvChunk, Dataset, Header, ImportMessage, Mode, RowBatch
from paved_cost.money import from_money, plain, to_money
from paved_cost.optimizer import Action
from paved_cost.recommendations import Kind, Recommendation, Risk
from paved_cost.resources import PlanResource

_DIRECTION = {
    Direction.UP: cost_pb2.TREND_DIRECTION_UP,
    Direction.DOWN: cost_pb2.TREND_DIRECTION_DOWN,
    Direction.FLAT: cost_pb2.TREND_DIRECTION_FLAT,
    Direction.NEW: cost_pb2.TREND_DIRECTION_NEW,
}
_KIND = {
    Kind.RIGHTSIZE: cost_pb2.RECOMMENDATION_KIND_RIGHTSIZE,
    Kind.SPOT: cost_pb2.RECOMMENDATION_KIND_SPOT,
    Kind.RESERVED: cost_pb2.RECOMMENDATION_KIND_RESERVED,
}
_RISK = {Risk.LOW: cost_pb2.RISK_LOW, Risk.MEDIUM: cost_pb2.RISK_MEDIUM, Risk.HIGH: cost_pb2.RISK_HIGH}
_MODE = {
    cost_pb2.IMPORT_MODE_UNSPECIFIED: Mode.ALL_OR_NOTHING,
    cost_pb2.IMPORT_MODE_ALL_OR_NOTHING: Mode.ALL_OR_NOTHING,
    cost_pb2.IMPORT_MODE_SKIP_INVALID: Mode.SKIP_INVALID,
}
_DATASET = {
    cost_pb2.FOCUS_DATASET_UNSPECIFIED: Dataset.COST_AND_USAGE,
    cost_pb2.FOCUS_DATASET_COST_AND_USAGE: Dataset.COST_AND_USAGE,
    cost_pb2.FOCUS_DATASET_CONTRACT_COMMITMENT: Dataset.CONTRACT_COMMITMENT,
}
# FocusRow field per FOCUS column, in COLUMNS order.
_ROW_FIELDS = {
    "BilledCost": "billed_cost",
    "EffectiveCost": "effective_cost",
    "ListCost": "list_cost",
    "ContractedCost": "contracted_cost",
    "BillingCurrency": "billing_currency",
    "BillingPeriodStart": "billing_period_start",
    "BillingPeriodEnd": "billing_period_end",
    "ChargePeriodStart": "charge_period_start",
    "ChargePeriodEnd": "charge_period_end",
    "ChargeCategory": "charge_category",
    "PricingCategory": "pricing_category",
    "ProviderName": "provider_name",
    "ServiceName": "service_name",
    "ServiceCategory": "service_category",
    "ResourceId": "resource_id",
    "ResourceType": "resource_type",
    "RegionId": "region_id",
    "SubAccountId": "sub_account_id",
    "SkuId": "sku_id",
    "ConsumedQuantity": "consumed_quantity",
    "ConsumedUnit": "consumed_unit",
    "CommitmentDiscountId": "commitment_discount_id",
    "CommitmentDiscountType": "commitment_discount_type",
    "Tags": "tags",
    "AllocatedResourceId": "allocated_resource_id",
    "AllocatedTags": "allocated_tags",
    "ContractApplied": "contract_applied",
}
_MAP_FIELDS = frozenset({"tags", "allocated_tags"})
_TIME_FIELDS = frozenset(
    {"billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end"}
)


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, object]:
    return json_format.MessageToDict(struct)


def dict_to_struct(data: dict[str, object]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def plan_resources(resources: Sequence[common_pb2.Resource]) -> list[PlanResource]:
    return [PlanResource(r.name, r.type, struct_to_dict(r.properties), dict(r.tags)) for r in resources]


def money_or_none(message: Message, field: str) -> Decimal | None:
    return from_money(getattr(message, field)) if message.HasField(field) else None


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def estimate_response(result: Estimate) -> cost_pb2.EstimateCostResponse:
    currency = result.currency
    return cost_pb2.EstimateCostResponse(
        total_monthly_cost=to_money(result.total, currency),
        resources=[
            cost_pb2.ResourceEstimate(
                resource=r.resource,
                type=r.type,
                monthly_cost=to_money(r.monthly_cost, currency),
                line_items=[
                    cost_pb2.LineItem(
                        description=item.description,
                        quantity=float(item.quantity),
                        unit=item.unit,
                        unit_price=to_money(item.unit_price, currency),
                        monthly_cost=to_money(item.monthly_cost, currency),
                    )
                    for item in r.line_items
                ],
            )
            for r in result.resources
        ],
        price_catalog_source=result.source,
        price_catalog_date=result.date,
        hours_per_month=float(result.hours_per_month),
        region=result.region,
    )


def _row_cells(row: cost_pb2.FocusRow) -> list[str]:
    cells = []
    for column in COLUMNS:
        field = _ROW_FIELDS[column]
        if field in _TIME_FIELDS:
            cells.append(from_timestamp(getattr(row, field)).isoformat() if row.HasField(field) else "")
        elif field in _MAP_FIELDS:
            tags = getattr(row, field)
            cells.append(json.dumps(dict(tags)) if tags else "")
        else:
            cells.append(getattr(row, field))
    return cells


async def import_messages(
    requests: AsyncIterator[cost_pb2.ImportBillingRequest],
) -> AsyncIterator[ImportMessage]:
    async for request in requests:
        kind = request.WhichOneof("content")
        if kind == "header":
            header = request.header
            if header.mode not in _MODE:
                raise InvalidArgument("invalid import mode", [FieldViolation("header.mode", "unknown mode")])
            if header.dataset not in _DATASET:
                raise InvalidArgument(
                    "invalid FOCUS dataset", [FieldViolation("header.dataset", "unknown dataset")]
                )
            yield Header(
                header.source,
                _MODE[header.mode],
                header.null_token,
                header.metadata,
                _DATASET[header.dataset],
            )
        elif kind == "csv_chunk":
            yield CsvChunk(request.csv_chunk)
        elif kind == "rows":
            yield RowBatch([_row_cells(row) for row in request.rows.rows])
        else:
            raise InvalidArgument(
                "empty message", [FieldViolation("content", "one of header, csv_chunk, rows")]
            )


def commitment_message(use: CommitmentUse, currency: str) -> cost_pb2.CommitmentUtilisation:
    commitment = use.commitment
    spend = commitment.category == "Spend"
    message = cost_pb2.CommitmentUtilisation(
        contract_commitment_id=commitment.contract_commitment_id,
        contract_id=commitment.contract_id,
        category=commitment.category,
        commitment_type=commitment.commitment_type,
        unit=(commitment.billing_currency or currency) if spend else (commitment.unit or ""),
        committed=plain(use.expected),
        applied=plain(use.applied),
    )
    if use.utilisation is not None:
        message.utilisation = use.utilisation
    return message


def trend_message(report: MonthReport) -> cost_pb2.Trend:
    return cost_pb2.Trend(direction=_DIRECTION[report.trend.direction], percent=report.trend.percent)


def daily_message(day: date, cost: Decimal, currency: str) -> cost_pb2.DailyCost:
    return cost_pb2.DailyCost(date=day.isoformat(), cost=to_money(cost, currency))


def recommendation_message(r: Recommendation, currency: str) -> cost_pb2.Recommendation:
    return cost_pb2.Recommendation(
        name=r.name,
        service=r.service,
        resource=r.resource,
        kind=_KIND[r.kind],
        description=r.description,
        current_instance_type=r.current_instance_type,
        recommended_instance_type=r.recommended_instance_type,
        monthly_savings=to_money(r.monthly_savings, currency),
        risk=_RISK[r.risk],
        evidence=dict_to_struct(r.evidence),
        team=r.team,
    )


def action_message(action: Action, currency: str) -> cost_pb2.OptimizationAction:
    return cost_pb2.OptimizationAction(
        recommendation=recommendation_message(action.recommendation, currency),
        applied=action.applied,
        operation=action.operation,
        error=action.error,
    )
