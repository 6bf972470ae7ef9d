"""The working behind a suggestion's numbers, in words and with the numbers substituted, so a
planner can redo them by hand: the table's tooltips and expandable rows, and the CSV, use it.

Everything here formats a `ReorderRow`; nothing reads the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings


def money(value) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def qty(value) -> str:
    """A computed quantity: whole numbers as such, the rest with one decimal."""
    if value is None:
        return "—"
    value = float(value)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"


def rate(value, places: int = 2) -> str:
    return "—" if value is None else f"{float(value):,.{places}f}"


def percent(value) -> str:
    """A service level as people say it: 95 %, 97.5 %."""
    value = float(value) * 100
    return f"{value:.0f} %" if value.is_integer() else f"{value:.1f} %"


@dataclass(frozen=True)
class Step:
    """One line of working: what, the formula, the numbers put in, the result."""

    label: str
    formula: str
    working: str
    result: str


def _lead_time_source(row) -> str:
    if row.supplier_id is None:
        return "no supplier, so no lead time (L = 0)"
    source = f"promised by {row.supplier_name}"
    if not row.supplier_is_preferred:
        source += " (not marked preferred; the quickest active supplier)"
    samples = row.lead_time_samples
    if row.sigma_lead_time:
        source += f"; σL from {samples} measured deliveries"
    elif samples:
        source += (
            f"; {samples} measured deliver{'ies' if samples != 1 else 'y'} (σL needs 2 that vary)"
        )
    return source


def _service_level_source(row) -> str:
    default = float(settings.BACKSTOCK_SERVICE_LEVEL)
    if abs(float(row.service_level) - default) > 1e-9:
        return f"{percent(row.service_level)} (set on the product)"
    return f"{percent(row.service_level)} (default)"


def explanation(row) -> list[Step]:
    """How the row's safety stock, reorder point, quantity and EOQ follow from its inputs, with
    the numbers substituted so a planner can redo them by hand."""
    d, sigma_d = float(row.d), float(row.sigma_d)
    lead, sigma_lead = float(row.lead_time_days), float(row.sigma_lead_time or 0)
    z = float(row.z)
    safety = row.safety_stock_result
    steps = [
        Step(
            "Daily demand",
            "d = mean, σd = sample standard deviation of the units ordered each day",
            f"{row.demand_days} days up to today; days without orders count as 0",
            f"d = {rate(d)}, σd = {rate(sigma_d)}",
        ),
        Step(
            "Lead time",
            "L = promised days of the preferred supply term"
            + (", σL measured from past deliveries" if sigma_lead else ""),
            _lead_time_source(row),
            f"L = {qty(lead)} days" + (f", σL = {rate(sigma_lead)} days" if sigma_lead else ""),
        ),
        Step(
            "Service level",
            "z = standard normal quantile of the service level",
            _service_level_source(row),
            f"z = {rate(z, 3)}",
        ),
    ]
    if sigma_lead:
        working = (
            f"{rate(z, 3)} × √({qty(lead)} × {rate(sigma_d)}² + {rate(d)}² × {rate(sigma_lead)}²)"
        )
    else:
        working = f"{rate(z, 3)} × {rate(sigma_d)} × √{qty(lead)}"
    difference = row.suggested_safety_stock - row.safety_stock
    steps.append(
        Step(
            "Safety stock",
            f"set on the level (planned with); suggested SS = {safety.formula}",
            f"suggested: {working} = {rate(safety.value, 1)}, rounded up to "
            f"{row.suggested_safety_stock:,}",
            f"set {row.safety_stock:,}; suggested {row.suggested_safety_stock:,} ({difference:+,})",
        )
    )
    steps.append(
        Step(
            "Lead-time demand",
            "DL = ⌈d × L⌉, whole units",
            f"⌈{rate(d)} × {qty(lead)}⌉ = ⌈{rate(d * lead)}⌉",
            f"DL = {row.lead_demand:,}",
        )
    )
    if row.rop_is_manual:
        steps.append(
            Step(
                "Reorder point",
                "manual value set on the stock level",
                "DL + SS is not used",
                f"ROP = {row.rop:,}",
            )
        )
    else:
        steps.append(
            Step(
                "Reorder point",
                "ROP = DL + SS (the safety stock set on the level)",
                f"{row.lead_demand:,} + {row.safety_stock:,}",
                f"ROP = {row.rop:,}",
            )
        )
    days = row.review_days
    if row.projected > row.rop:
        quantity_working = f"projected {row.projected:,} is above ROP {row.rop:,}"
    else:
        target = row.rop + row.review_demand
        quantity_working = (
            f"projected {row.projected:,} ≤ ROP; RD = ⌈{rate(d)} × {days}⌉ = "
            f"{row.review_demand:,}; target ROP + RD = {row.rop:,} + {row.review_demand:,} = "
            f"{target:,}; short by {max(0, target - row.projected):,}; "
            f"packs of {row.pack_size:,}, at least {row.min_order_qty:,}"
        )
    steps.append(
        Step(
            "Suggested quantity",
            f"up to ROP + RD ({days}-day review), rounded up to the pack, at least the minimum",
            quantity_working,
            f"{row.suggested_qty:,}" + ("" if row.supplier_id else " (no supplier to order from)"),
        )
    )
    if row.eoq is not None:
        steps.append(
            Step(
                "Economic order quantity",
                "EOQ = √(2 D S / H): D yearly demand, S cost per order, H yearly holding cost",
                eoq_working(row),
                f"EOQ = {rate(row.eoq)} → {qty(row.eoq_units)}",
            )
        )
    return steps


def eoq_working(row) -> str:
    holding_rate = settings.BACKSTOCK_HOLDING_COST_RATE
    yearly = float(row.d) * 365
    parts = [f"D = {rate(row.d)} × 365 = {qty(round(yearly))}"]
    if row.ordering_cost is not None:
        parts.append(f"S = {money(row.ordering_cost)} per order")
    else:
        parts.append("S = the supplier's ordering cost (or the default)")
    if holding_rate is not None and row.unit_cost is not None:
        holding = float(row.unit_cost) * float(holding_rate)
        parts.append(f"H = {money(row.unit_cost)} × {rate(holding_rate)} = {rate(holding)}")
    if row.eoq is not None and row.eoq_units is not None and row.eoq_units != row.eoq:
        low, high = math.floor(round(row.eoq, 9)), math.ceil(round(row.eoq, 9))
        if low != high:
            parts.append(
                f"whole units: {qty(row.eoq_units)} of {qty(low)} and {qty(high)}, the lower "
                "yearly ordering + holding cost"
            )
    return ", ".join(parts)


def safety_tip(row) -> str:
    """The safety stock's working in one line, for the `title` tooltip on the number."""
    safety = row.safety_stock_result
    spread = f", d = {rate(row.d)}, σL = {rate(row.sigma_lead_time)}" if row.sigma_lead_time else ""
    return (
        f"SS = {safety.formula}; z = {rate(row.z, 3)} ({percent(row.service_level)}), "
        f"σd = {rate(row.sigma_d)}, L = {qty(row.lead_time_days)} days{spread}"
        f" → {rate(safety.value, 1)}, rounded up to {row.suggested_safety_stock:,}"
    )


def rop_tip(row) -> str:
    """The reorder point's working in one line."""
    if row.rop_is_manual:
        return "Manual reorder point set on the stock level"
    return (
        f"ROP = DL + SS = ⌈{rate(row.d)} × {qty(row.lead_time_days)}⌉ + {row.safety_stock:,} "
        f"(set) = {row.lead_demand:,} + {row.safety_stock:,} = {row.rop:,}"
    )


def quantity_tip(row) -> str:
    """The suggested quantity's rule in one line."""
    return (
        f"Enough to bring projected {row.projected:,} up to ROP + RD = {row.rop:,} + "
        f"{row.review_demand:,} (d × {row.review_days} days, rounded up), "
        f"rounded up to packs of {row.pack_size:,}, at least {row.min_order_qty:,}"
    )
