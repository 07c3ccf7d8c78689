"""FOCUS 1.3 Contract Commitment dataset over gRPC, and commitments in the reserved recommendation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from cost_test_rows import day_row, stream  # type: ignore[import-not-found]
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details
from test_recommendations import NOW, compute  # type: ignore[import-not-found]

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "focus" / "focus_1_3_contract_commitment.csv"
HEADER = (
    "BillingCurrency,ContractCommitmentCategory,ContractCommitmentCost,ContractCommitmentDescription,"
    "ContractCommitmentId,ContractCommitmentPeriodEnd,ContractCommitmentPeriodStart,"
    "ContractCommitmentQuantity,ContractCommitmentType,ContractCommitmentUnit,ContractId,ContractPeriodEnd,"
    "ContractPeriodStart\n"
)


def commitment_stream(
    data: bytes, source: str = "contracts", mode: int = cost_pb2.IMPORT_MODE_ALL_OR_NOTHING
) -> Iterator[cost_pb2.ImportBillingRequest]:
    yield cost_pb2.ImportBillingRequest(
        header=cost_pb2.ImportHeader(
            source=source, mode=mode, dataset=cost_pb2.FOCUS_DATASET_CONTRACT_COMMITMENT
        )
    )
    for start in range(0, len(data), 50):
        yield cost_pb2.ImportBillingRequest(csv_chunk=data[start : start + 50])


async def test_commitment_dataset_imports_replaces_and_refuses_bad_rows(cost) -> None:
    data = await asyncio.to_thread(FIXTURE.read_bytes)
    first = await cost.stub.ImportBilling(commitment_stream(data))
    assert (first.rows_read, first.rows_imported, first.rows_rejected, first.rows_replaced) == (2, 2, 0, 0)
    assert first.focus_version == "1.3"
    again = await cost.stub.ImportBilling(commitment_stream(data))
    assert (again.rows_imported, again.rows_replaced) == (2, 2)
    bad = data.replace(b"USD,Usage,,", b"USD,Usage?,,")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(commitment_stream(bad))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    [violation] = error_details(caught.value).field_violations
    assert violation.field == "rows[2].ContractCommitmentCategory"
    # Skipping the bad row keeps (and replaces with) the good one.
    kept = await cost.stub.ImportBilling(commitment_stream(bad, mode=cost_pb2.IMPORT_MODE_SKIP_INVALID))
    assert (kept.rows_imported, kept.rows_rejected, kept.rows_replaced) == (1, 1, 2)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(commitment_stream(b"ContractCommitmentId\nx\n"))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def spend_commitment(identifier: str, yearly: str) -> str:
    # 2024 has 366 days: September's 30 days commit yearly * 30 / 366.
    return (
        f"USD,Spend,{yearly},Spend on anything,{identifier},2025-01-01T00:00:00Z,2024-01-01T00:00:00Z,,"
        "Minimum Spend,,contract-1,2025-01-01T00:00:00Z,2024-01-01T00:00:00Z\n"
    )


async def history(harness, applied_in_september: Decimal | None) -> None:
    """checkout: 3 x c5.2xlarge, six steady months; September's cost partly drawn on commitment cc-1."""
    stub = harness.stub
    await stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="checkout", team="payments", environment="production", resources=[compute("c5.2xlarge")]
        )
    )
    rows = []
    for month, amount in zip(range(4, 10), (1000, 1040, 980, 1010, 995, 1020), strict=True):
        row = day_row("checkout", "payments", date(2024, month, 10), Decimal(amount))
        if month == 9 and applied_in_september is not None:
            row.contract_applied = json.dumps(
                [
                    {
                        "ContractCommitmentId": "cc-1",
                        "ContractCommitmentAppliedCost": float(applied_in_september),
                        "ContractCommitmentAppliedQuantity": None,
                        "ContractCommitmentAppliedUnit": None,
                    }
                ]
            )
        rows.append(row)
    await stub.ImportBilling(stream(rows, source="history"))


def reserved(response: cost_pb2.ListRecommendationsResponse) -> cost_pb2.Recommendation | None:
    found = [r for r in response.recommendations if r.kind == cost_pb2.RECOMMENDATION_KIND_RESERVED]
    return found[0] if found else None


FULL = Decimal("0.34") * 730 * 3 * Decimal("0.36")  # the uncommitted reserved saving


async def test_commitments_reduce_or_withhold_the_reserved_recommendation(cost) -> None:
    cost.clock.now = NOW
    await history(cost, Decimal(510))
    # No commitment dataset yet: ContractApplied naming an unknown commitment changes nothing.
    alone = reserved(await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest()))
    assert alone is not None and from_money(alone.monthly_savings) == FULL

    # 6000/year commits 491.80 in September; checkout applied 510 (half its 1020): half is committed.
    await cost.stub.ImportBilling(commitment_stream((HEADER + spend_commitment("cc-1", "6000")).encode()))
    half = reserved(await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest()))
    assert half is not None
    assert from_money(half.monthly_savings) == (FULL * (1 - Decimal(510) / Decimal(1020))).quantize(
        Decimal("0.000000001")
    )
    assert half.evidence["committed_share"] == pytest.approx(0.5)
    [use] = half.evidence["contract_commitments"]
    assert use["contract_commitment_id"] == "cc-1" and use["category"] == "Spend"
    assert use["committed"] == pytest.approx(6000 * 30 / 366)
    assert use["utilisation"] == pytest.approx(510 / (6000 * 30 / 366), abs=1e-4)
    assert "50% of it already under contract" in half.description

    # 24000/year commits 1967.21 in September and only 510 of it is used: buy nothing more.
    await cost.stub.ImportBilling(commitment_stream((HEADER + spend_commitment("cc-1", "24000")).encode()))
    assert reserved(await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest())) is None


async def test_fully_committed_service_gets_no_reserved_recommendation(cost) -> None:
    cost.clock.now = NOW
    await history(cost, Decimal(1020))
    await cost.stub.ImportBilling(commitment_stream((HEADER + spend_commitment("cc-1", "12000")).encode()))
    assert reserved(await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest())) is None


async def test_commitment_utilisation_of_a_month(cost) -> None:
    cost.clock.now = NOW
    await history(cost, Decimal(510))
    await cost.stub.ImportBilling(commitment_stream((HEADER + spend_commitment("cc-1", "6000")).encode()))
    report = await cost.stub.GetCommitmentUtilisation(
        cost_pb2.GetCommitmentUtilisationRequest(month="2024-09")
    )
    assert report.month == "2024-09"
    [use] = report.commitments
    assert (use.contract_commitment_id, use.contract_id, use.category, use.unit) == (
        "cc-1",
        "contract-1",
        "Spend",
        "USD",
    )
    assert Decimal(use.applied) == 510
    assert Decimal(use.committed) == pytest.approx(Decimal(6000) * 30 / 366)
    assert use.utilisation == pytest.approx(510 / (6000 * 30 / 366))
    # August: the commitment is active, nothing applied to it.
    august = await cost.stub.GetCommitmentUtilisation(
        cost_pb2.GetCommitmentUtilisationRequest(month="2024-08")
    )
    assert Decimal(august.commitments[0].applied) == 0 and august.commitments[0].utilisation == 0
    # Outside the commitment's period: not listed. A bad month is refused naming the field.
    assert (
        list(
            (
                await cost.stub.GetCommitmentUtilisation(
                    cost_pb2.GetCommitmentUtilisationRequest(month="2025-02")
                )
            ).commitments
        )
        == []
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.GetCommitmentUtilisation(cost_pb2.GetCommitmentUtilisationRequest(month="2024-13"))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(caught.value).field_violations[0].field == "month"
