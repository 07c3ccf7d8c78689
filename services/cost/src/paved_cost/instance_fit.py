"""Prices of a rightsizing: the cheapest instance type that fits, and what a change saves a month.

Per-vCPU and per-GiB hourly prices are fitted (least squares, no intercept) to the region's non-burstable
instance types, so a change of requests is priced the way the nodes under it are. Burstable types (t3)
fit only when the sustained load stays under their baseline share of a vCPU.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from paved_cost.prices import PriceCatalog

GIB = 1024.0**3
NODE_RESERVE = 0.1  # share of a node kept for the kubelet and system pods

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")
_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
    "Pi": 1024.0**5,
    "Ei": 1024.0**6,
}


def parse_quantity(text: str) -> float | None:
    """A Kubernetes quantity (``250m``, ``"1"``, ``512Mi``, ``1.5G``) as a number; None when not one."""
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    return float(match.group(1)) * _FACTORS[match.group(2)]


def cpu_quantity(cores: float) -> str:
    """Cores as a Kubernetes quantity in whole millicores, rounded up (``0.2501`` → ``251m``)."""
    return f"{max(1, math.ceil(cores * 1000 - 1e-9))}m"


def memory_quantity(size: float) -> str:
    """Bytes as a Kubernetes quantity in whole MiB, rounded up."""
    return f"{max(1, math.ceil(size / 1024**2 - 1e-9))}Mi"


@dataclass(frozen=True)
class UnitPrices:
    """Hourly price of one vCPU and of one GiB of memory."""

    vcpu_hour: float
    gib_hour: float


def unit_prices(catalog: PriceCatalog, region: str) -> UnitPrices | None:
    """Per-vCPU and per-GiB prices fitted to the region's non-burstable types; None without specs."""
    prices = catalog.regions.get(region)
    if prices is None:
        return None
    rows = [
        (spec.vcpu, spec.memory_gib, float(price))
        for name, price in prices.compute_hourly.items()
        if (spec := catalog.instance_specs.get(name)) is not None and spec.baseline_share >= 1
    ]
    if len(rows) < 2:
        return None
    # Normal equations of price = a·vcpu + b·gib.
    svv = sum(v * v for v, _, _ in rows)
    sgg = sum(g * g for _, g, _ in rows)
    svg = sum(v * g for v, g, _ in rows)
    svp = sum(v * p for v, _, p in rows)
    sgp = sum(g * p for _, g, p in rows)
    det = svv * sgg - svg * svg
    if det == 0:
        return None
    a = (svp * sgg - sgp * svg) / det
    b = (sgp * svv - svp * svg) / det
    return UnitPrices(max(a, 0.0), max(b, 0.0))


def cheapest_fit(
    catalog: PriceCatalog, region: str, cpu: float, memory: float, sustained_cpu: float
) -> tuple[str, Decimal] | None:
    """The cheapest instance type whose allocatable share holds one replica (``cpu`` cores, ``memory`` bytes);
    a burstable type only when ``sustained_cpu`` stays within its baseline."""
    prices = catalog.regions.get(region)
    if prices is None:
        return None
    best: tuple[str, Decimal] | None = None
    for name, price in sorted(prices.compute_hourly.items()):
        spec = catalog.instance_specs.get(name)
        if spec is None:
            continue
        usable_cpu = spec.vcpu * (1 - NODE_RESERVE)
        usable_memory = spec.memory_gib * GIB * (1 - NODE_RESERVE)
        if cpu > usable_cpu or memory > usable_memory:
            continue
        if spec.baseline_share < 1 and sustained_cpu > spec.vcpu * spec.baseline_share:
            continue
        if best is None or price < best[1]:
            best = (name, price)
    return best


def monthly_saving(
    units: UnitPrices | None,
    hours_per_month: float,
    replicas: int,
    cpu_change: float,
    memory_change: float,
) -> float:
    """What a change of requests per replica (cores, bytes; negative = less) saves a month."""
    if units is None:
        return 0.0
    hourly = -(cpu_change * units.vcpu_hour + memory_change / GIB * units.gib_hour)
    return hourly * hours_per_month * replicas
