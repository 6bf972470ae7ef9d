"""Textbook replenishment formulas, kept free of the database so a planner can check them by hand.

d is the mean daily demand, σd its sample standard deviation, L the lead time in days and σL the
standard deviation of the lead time. Every result that a page shows carries the inputs it used.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

FORMULA_FIXED_LEAD_TIME = "z × σd × √L"
FORMULA_VARIABLE_LEAD_TIME = "z × √(L × σd² + d² × σL²)"

# Float noise (e.g. 26.000000000000004) must not push a ceiling up by a whole unit.
_PRECISION = 9
# What is float noise, not a unit, when rounding up (the plan's SQL uses the same).
NOISE = 1e-9

Number = int | float | Decimal


@dataclass(frozen=True)
class DemandStats:
    mean: float
    stdev: float
    days: int


@dataclass(frozen=True)
class SafetyStockResult:
    value: float
    formula: str
    inputs: dict[str, float] = field(default_factory=dict)


def ceil_clean(value: float) -> int:
    """Round up to a whole unit, ignoring float noise in the last digits."""
    return math.ceil(round(value, _PRECISION))


def demand_stats(daily: Sequence[int]) -> DemandStats:
    """Mean and sample standard deviation of daily demand; the caller passes days without orders
    as zeros. Fewer than two days give no spread (σd = 0)."""
    values = [int(v) for v in daily]
    return demand_stats_from_sums(
        days=len(values), units=sum(values), squares=sum(v * v for v in values)
    )


def demand_stats_from_sums(*, days: int, units: int, squares: int) -> DemandStats:
    """The same statistics from the window's length, the sum of its daily units and the sum of
    their squares, which is all the database has to hand over per level.

    Units are whole numbers, so the variance's numerator n Σx² − (Σx)² is exact (no cancellation
    error, however large the sums) and only the division and the square root round, each to the
    nearest float: the result agrees with `statistics.stdev` to the last bit or two."""
    if days <= 0:
        return DemandStats(mean=0.0, stdev=0.0, days=0)
    mean = units / days
    stdev = 0.0
    if days >= 2:
        spread = days * squares - units * units
        stdev = math.sqrt(spread / (days * (days - 1))) if spread > 0 else 0.0
    return DemandStats(mean=mean, stdev=stdev, days=days)


@functools.lru_cache(maxsize=256)
def _z(level: float) -> float:
    return statistics.NormalDist().inv_cdf(level)


def z_for(service_level: Number) -> float:
    """The standard normal quantile for a service level: 0.95 → 1.645."""
    level = float(service_level)
    if not 0 < level < 1:
        raise ValueError("The service level must lie strictly between 0 and 1.")
    return _z(level)


def _non_negative(**values: Number) -> dict[str, float]:
    cleaned = {}
    for name, value in values.items():
        number = float(value)
        if math.isnan(number) or number < 0:
            raise ValueError(f"{name} cannot be negative.")
        cleaned[name] = number
    return cleaned


def safety_stock(
    *, z: Number, d: Number, sigma_d: Number, lead_time: Number, sigma_lead_time: Number = 0
) -> SafetyStockResult:
    """SS = z × σd × √L; when the lead time itself varies (σL > 0), SS = z × √(L σd² + d² σL²)."""
    v = _non_negative(d=d, sigma_d=sigma_d, lead_time=lead_time, sigma_lead_time=sigma_lead_time)
    z = float(z)
    inputs = {
        "z": z,
        "d": v["d"],
        "sigma_d": v["sigma_d"],
        "L": v["lead_time"],
        "sigma_L": v["sigma_lead_time"],
    }
    if v["sigma_lead_time"] > 0:
        variance = v["lead_time"] * v["sigma_d"] ** 2 + v["d"] ** 2 * v["sigma_lead_time"] ** 2
        value = z * math.sqrt(variance)
        formula = FORMULA_VARIABLE_LEAD_TIME
    else:
        value = z * v["sigma_d"] * math.sqrt(v["lead_time"])
        formula = FORMULA_FIXED_LEAD_TIME
    # A service level below 50 % gives a negative z; holding negative stock means nothing.
    return SafetyStockResult(value=max(0.0, value), formula=formula, inputs=inputs)


def whole_units(value: Number) -> int:
    """Units expected, rounded up to a whole unit; anything up to 10⁻⁹ above a whole number is
    float noise, not a unit (the plan's SQL rounds the same way: CEILING(x − 10⁻⁹))."""
    return max(0, math.ceil(float(value) - NOISE))


def lead_time_demand(*, d: Number, lead_time: Number) -> int:
    """DL = ⌈d × L⌉: the whole units expected to be demanded while an order is on its way."""
    v = _non_negative(d=d, lead_time=lead_time)
    return whole_units(v["d"] * v["lead_time"])


def reorder_point(*, lead_demand: int, safety_stock: int, manual: Number | None = None) -> int:
    """ROP = DL + SS, with SS the safety stock set on the level (what staff decided, not the
    suggestion), or the manual reorder point when one is set. Whole units, so the numbers on a
    row add up."""
    if manual is not None:
        return int(manual)
    v = _non_negative(lead_demand=lead_demand, safety_stock=safety_stock)
    return int(v["lead_demand"]) + int(v["safety_stock"])


def suggested_order_quantity(
    *,
    projected: Number,
    rop: Number,
    review_demand: int,
    pack_size: int,
    min_order_qty: int,
) -> int:
    """Nothing while projected stock is above the reorder point; otherwise enough to bring it up
    to ROP + RD (RD = ⌈d × review period⌉), rounded up to whole packs and to at least the minimum
    order (itself rounded up to whole packs)."""
    pack = max(1, int(pack_size or 1))
    minimum = max(1, int(min_order_qty or 1))
    if float(projected) > float(rop):
        return 0
    v = _non_negative(review_demand=review_demand)
    shortfall = int(rop) + int(v["review_demand"]) - int(projected)
    if shortfall <= 0:
        # At the reorder point with no demand to cover (e.g. ROP 0, nothing sold): buying the
        # minimum would only add stock nobody asked for.
        return 0
    wanted = max(shortfall, minimum)
    return -(-wanted // pack) * pack


def eoq(
    *,
    annual_demand: Number | None,
    ordering_cost: Number | None,
    unit_cost: Number | None,
    holding_rate: Number | None,
) -> float | None:
    """Economic order quantity √(2 D S / H) with H = unit cost × yearly holding rate; None when any
    input is missing or zero (there is nothing to balance)."""
    values = (annual_demand, ordering_cost, unit_cost, holding_rate)
    if any(v is None for v in values):
        return None
    demand, order_cost, cost, rate = (float(v) for v in values)
    if min(demand, order_cost, cost, rate) <= 0:
        return None
    return math.sqrt(2 * demand * order_cost / (cost * rate))


def eoq_units(
    exact: float | None, *, annual_demand: Number, ordering_cost: Number, holding_cost: Number
) -> int | None:
    """The whole order quantity for an exact EOQ: of the two whole numbers around it, the one
    with the lower yearly cost (ordering D / Q × S plus holding Q / 2 × H; the lower one on a
    tie), never less than 1. Float noise in the last digits never moves it (an EOQ worked out as
    110.00000000000001 is 110)."""
    if exact is None:
        return None
    cleaned = round(exact, _PRECISION)
    low, high = max(1, math.floor(cleaned)), max(1, math.ceil(cleaned))
    if low == high:
        return low
    demand, order_cost, holding = float(annual_demand), float(ordering_cost), float(holding_cost)

    def yearly(quantity: int) -> float:
        return demand / quantity * order_cost + quantity / 2 * holding

    return low if yearly(low) <= yearly(high) else high
