"""The replenishment formulas on known cases and edge cases, without a database."""

import math
import statistics
from decimal import Decimal

import pytest

from planning.formulas import (
    FORMULA_FIXED_LEAD_TIME,
    FORMULA_VARIABLE_LEAD_TIME,
    ceil_clean,
    demand_stats,
    demand_stats_from_sums,
    eoq,
    eoq_units,
    lead_time_demand,
    reorder_point,
    safety_stock,
    suggested_order_quantity,
    whole_units,
    z_for,
)

# --- the check from the issue ----------------------------------------------------------------


def test_issue_check_safety_stock_and_reorder_point():
    # d = 30/day, σd = 5, L = 10 days, z = 1.65: the suggested SS = 1.65 × 5 × √10 = 26.09 → 27.
    # The plan uses the safety stock set on the level (here the suggestion, applied):
    # DL = ⌈30 × 10⌉ = 300, ROP = DL + SS = 300 + 27 = 327.
    ss = safety_stock(z=1.65, d=30, sigma_d=5, lead_time=10)
    lead_demand = lead_time_demand(d=30, lead_time=10)
    rop = reorder_point(lead_demand=lead_demand, safety_stock=ceil_clean(ss.value))

    assert round(ss.value, 1) == 26.1
    assert (lead_demand, rop) == (300, 327)
    assert ss.formula == FORMULA_FIXED_LEAD_TIME == "z × σd × √L"
    assert ss.inputs == {"z": 1.65, "d": 30.0, "sigma_d": 5.0, "L": 10.0, "sigma_L": 0.0}


def test_the_reorder_point_uses_the_safety_stock_set_not_the_suggestion():
    # Staff set 10 where 27 is suggested: the plan reorders at 300 + 10.
    assert reorder_point(lead_demand=300, safety_stock=10) == 310


def test_lead_time_demand_is_whole_units_rounded_up_without_float_noise():
    assert lead_time_demand(d=0.23, lead_time=10) == 3  # 2.3 → 3
    assert lead_time_demand(d=0.1, lead_time=30) == 3  # 3.0000000000000004 → 3
    assert lead_time_demand(d=0, lead_time=30) == 0
    assert whole_units(7.00000001) == 8
    assert whole_units(7.0000000009) == 7


# --- demand ----------------------------------------------------------------------------------


def test_demand_stats_uses_sample_standard_deviation():
    stats = demand_stats([2, 4, 4, 4, 5, 5, 7, 9])

    assert stats.mean == 5
    # Sample (n − 1) deviation: √(32 / 7), not the population value 2.
    assert stats.stdev == pytest.approx(math.sqrt(32 / 7))
    assert stats.days == 8


def test_demand_stats_counts_zero_days():
    with_gaps = demand_stats([0, 0, 9, 0, 0, 0])

    assert with_gaps.mean == pytest.approx(1.5)
    assert with_gaps.stdev == pytest.approx(statistics.stdev([0, 0, 9, 0, 0, 0]))


def test_demand_stats_without_history_is_zero():
    stats = demand_stats([])

    assert (stats.mean, stats.stdev, stats.days) == (0.0, 0.0, 0)


def test_demand_stats_single_day_has_no_spread():
    stats = demand_stats([12])

    assert (stats.mean, stats.stdev, stats.days) == (12.0, 0.0, 1)


def test_demand_stats_zero_variance():
    stats = demand_stats([5] * 30)

    assert stats.mean == 5
    assert stats.stdev == 0


# --- service level → z -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "z"), [(0.5, 0.0), (0.9, 1.2816), (0.95, 1.6449), (0.98, 2.0537), (0.99, 2.3263)]
)
def test_z_for_known_service_levels(level, z):
    assert z_for(level) == pytest.approx(z, abs=1e-4)


def test_z_for_accepts_decimal():
    assert z_for(Decimal("0.9500")) == pytest.approx(1.6449, abs=1e-4)


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.2])
def test_z_for_refuses_levels_outside_zero_one(level):
    with pytest.raises(ValueError, match="service level"):
        z_for(level)


# --- safety stock ----------------------------------------------------------------------------


def test_safety_stock_with_variable_lead_time_uses_the_combined_formula():
    # z × √(L σd² + d² σL²) = 1.65 × √(10 × 25 + 900 × 4) = 1.65 × √3850
    ss = safety_stock(z=1.65, d=30, sigma_d=5, lead_time=10, sigma_lead_time=2)

    assert ss.formula == FORMULA_VARIABLE_LEAD_TIME == "z × √(L × σd² + d² × σL²)"
    assert ss.value == pytest.approx(1.65 * math.sqrt(3850))
    assert ss.inputs["sigma_L"] == 2


def test_safety_stock_zero_variance_demand_needs_none():
    ss = safety_stock(z=1.645, d=8, sigma_d=0, lead_time=7)

    assert ss.value == 0
    assert ss.formula == FORMULA_FIXED_LEAD_TIME


def test_safety_stock_lead_time_zero_needs_none():
    ss = safety_stock(z=1.645, d=8, sigma_d=3, lead_time=0)

    assert ss.value == 0


def test_safety_stock_without_demand_history_is_zero():
    stats = demand_stats([])
    ss = safety_stock(z=z_for(0.95), d=stats.mean, sigma_d=stats.stdev, lead_time=14)

    assert ss.value == 0
    assert lead_time_demand(d=stats.mean, lead_time=14) == 0
    assert reorder_point(lead_demand=0, safety_stock=0) == 0


def test_safety_stock_never_negative_below_fifty_percent():
    ss = safety_stock(z=z_for(0.3), d=10, sigma_d=4, lead_time=9)

    assert ss.value == 0


@pytest.mark.parametrize("name", ["d", "sigma_d", "lead_time", "sigma_lead_time"])
def test_safety_stock_refuses_negative_inputs(name):
    values = {"d": 1, "sigma_d": 1, "lead_time": 1, "sigma_lead_time": 0}
    values[name] = -1

    with pytest.raises(ValueError, match=name):
        safety_stock(z=1.65, **values)


# --- reorder point ---------------------------------------------------------------------------


def test_reorder_point_manual_value_wins():
    assert reorder_point(lead_demand=300, safety_stock=26, manual=50) == 50


def test_reorder_point_manual_zero_is_still_manual():
    assert reorder_point(lead_demand=300, safety_stock=26, manual=0) == 0


# --- suggested quantity ----------------------------------------------------------------------


def order(**values):
    return suggested_order_quantity(
        **{"pack_size": 1, "min_order_qty": 1, **values}
    )  # fmt: skip


def test_no_order_while_projected_above_reorder_point():
    assert order(projected=328, rop=327, review_demand=420) == 0


def test_order_at_reorder_point_covers_the_review_period():
    # Target ROP + RD = 327 + ⌈30 × 14⌉ = 747; from 300 that is 447.
    assert order(projected=300, rop=327, review_demand=420) == 447


def test_order_is_rounded_up_to_whole_packs():
    assert order(projected=300, rop=327, review_demand=420, pack_size=24) == 456  # 19 packs


def test_order_is_at_least_the_minimum_rounded_to_packs():
    # Needs 1 + 2 = 3; minimum 15 in packs of 10 → 20.
    assert order(projected=0, rop=1, review_demand=2, pack_size=10, min_order_qty=15) == 20


def test_huge_pack_size_orders_one_pack():
    assert order(projected=2, rop=5, review_demand=14, pack_size=100_000) == 100_000


def test_backorders_make_projected_negative_and_are_covered():
    # Projected −40 (owed to customers): 0 + 0 + 40 = 40.
    assert order(projected=-40, rop=0, review_demand=0) == 40


def test_nothing_to_order_without_demand_or_shortfall():
    assert order(projected=0, rop=0, review_demand=0, pack_size=6, min_order_qty=12) == 0


def test_float_noise_does_not_add_a_unit():
    assert ceil_clean(26.000000000000004) == 26
    assert ceil_clean(26.01) == 27
    # d × R = 0.1 × 30 is 3.0000000000000004 in floats: 3 units of review demand, not 4.
    assert order(projected=0, rop=0, review_demand=whole_units(0.1 * 30)) == 3


# --- EOQ -------------------------------------------------------------------------------------


def test_eoq_textbook_case():
    # D = 10,000/yr, S = 50 per order, unit cost 10 at 20 % a year (H = 2): √(2·10000·50/2) = 707.1
    assert eoq(
        annual_demand=10_000, ordering_cost=50, unit_cost=10, holding_rate=0.2
    ) == pytest.approx(707.107, abs=1e-3)


@pytest.mark.parametrize(
    "missing",
    ["annual_demand", "ordering_cost", "unit_cost", "holding_rate"],
)
@pytest.mark.parametrize("value", [None, 0])
def test_eoq_is_none_when_an_input_is_missing_or_zero(missing, value):
    inputs = {"annual_demand": 1000, "ordering_cost": 20, "unit_cost": 5, "holding_rate": 0.25}
    inputs[missing] = value

    assert eoq(**inputs) is None


@pytest.mark.parametrize(
    "daily",
    [
        [2, 4, 4, 4, 5, 5, 7, 9],
        [0, 0, 9, 0, 0, 0],
        [5] * 30,
        [1_000_000_007, 3, 999_999_999] + [0] * 87,
        [7],
        [],
    ],
)
def test_demand_stats_from_sums_match_the_daily_values(daily):
    # The database hands over only Σx and Σx² per level; the rows must not drift from what the
    # days themselves give.
    stats = demand_stats_from_sums(
        days=len(daily), units=sum(daily), squares=sum(x * x for x in daily)
    )

    assert stats.days == len(daily)
    assert stats.mean == (statistics.fmean(daily) if daily else 0.0)
    expected = statistics.stdev(daily) if len(daily) >= 2 else 0.0
    assert stats.stdev == pytest.approx(expected, rel=1e-15, abs=0)


def test_eoq_units_ignores_float_noise():
    # 2 × 6,050 × 2 / 2 = 12,100 = 110²; worked out through floats it can come out a hair above.
    assert eoq_units(110.00000000000001, annual_demand=6050, ordering_cost=2, holding_cost=2) == 110
    assert eoq_units(109.99999999999999, annual_demand=6050, ordering_cost=2, holding_cost=2) == 110


@pytest.mark.parametrize(
    ("demand", "expected", "why"),
    [
        # EOQ² = 2 D S / H with S = H = 1. Yearly cost of Q: D / Q + Q / 2.
        # EOQ 2.45 (D = 3.00125): 2 costs 1.500625 + 1 = 2.500625, 3 costs 1.000417 + 1.5 =
        # 2.500417, so 3, though 2.45 is nearer 2 (the costs cross at √(2 × 3) = 2.449).
        (3.00125, 3, "cheaper above"),
        # EOQ 2.44 (D = 2.9768): 2 costs 2.4884, 3 costs 2.49227, so 2.
        (2.9768, 2, "cheaper below"),
        # EOQ 1,697.06 (D = 1,697.06² / 2): 1,697 is the cheaper neighbour, not 1,698.
        (1697.06**2 / 2, 1697, "the issue's case"),
    ],
)
def test_eoq_units_takes_the_neighbour_with_the_lower_yearly_cost(demand, expected, why):
    exact = eoq(annual_demand=demand, ordering_cost=1, unit_cost=1, holding_rate=1)
    assert eoq_units(exact, annual_demand=demand, ordering_cost=1, holding_cost=1) == expected, why


def test_eoq_units_is_at_least_one_and_none_without_an_eoq():
    assert eoq_units(0.3, annual_demand=0.045, ordering_cost=1, holding_cost=1) == 1
    assert eoq_units(None, annual_demand=1, ordering_cost=1, holding_cost=1) is None
