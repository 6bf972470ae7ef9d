"""Reorder suggestions: one row per product × warehouse with every number that led to it.

A fixed number of queries whatever the number of rows: the rows' inputs in one query (the screen
for a list, `level_inputs` for chosen levels), then the suppliers' measured lead times (two,
`supplier_lead_times`). The statistics and formulas run in Python (`planning.formulas`), exactly,
from the stored daily demand totals the database sums per level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from planning.formulas import (
    SafetyStockResult,
    ceil_clean,
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
from planning.selectors.inputs import LevelInputs, level_inputs
from planning.selectors.screen import screen_rows
from planning.window import demand_window
from suppliers.selectors import LeadTimeStats, supplier_lead_times

NO_SUPPLIER = "no supplier"
NOT_PREFERRED = "supplier not marked preferred"
NO_DEMAND = "no demand in the window"


@dataclass(slots=True)
class ReorderRow:
    level_id: int
    product_id: int
    sku: str
    name: str
    unit: str
    warehouse_id: int
    warehouse_code: str
    on_hand: int
    allocated: int
    available: int
    backordered: int
    on_order: int
    projected: int
    safety_stock: int
    suggested_safety_stock: int
    safety_stock_result: SafetyStockResult
    d: float
    sigma_d: float
    demand_days: int
    lead_time_days: float
    sigma_lead_time: float
    lead_time_samples: int
    service_level: float
    z: float
    # DL = ⌈d × L⌉ and RD = ⌈d × review period⌉, whole units.
    lead_demand: int
    review_demand: int
    # ROP = DL + the safety stock set on the level, or the manual reorder point.
    rop: int
    rop_is_manual: bool
    review_days: int
    suggested_qty: int
    pack_size: int
    min_order_qty: int
    unit_cost: Decimal | None
    line_value: Decimal | None
    eoq: float | None
    # The whole quantity shown for the EOQ (the cheaper of its two neighbours).
    eoq_units: int | None
    # The EOQ's inputs: S, the cost of one order, and H, the yearly cost of holding one unit.
    ordering_cost: Decimal | None
    holding_cost: float | None
    supplier_id: int | None
    supplier_name: str | None
    supplier_is_preferred: bool
    urgent: bool
    flags: tuple[str, ...]

    @property
    def formula(self) -> str:
        return self.safety_stock_result.formula

    @property
    def no_supplier(self) -> bool:
        return self.supplier_id is None

    @property
    def needs_order(self) -> bool:
        return self.suggested_qty > 0


def reorder_suggestions(
    *,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    include_all: bool = False,
    today: dt.date | None = None,
) -> list[ReorderRow]:
    """Levels of active products (in active warehouses) whose projected stock is at or below the
    reorder point, sorted by supplier, warehouse, SKU: screened in SQL, then computed with their
    working. With include_all every level is computed (small data only)."""
    if include_all:
        return suggestions_for(
            warehouse_id=warehouse_id,
            supplier_id=supplier_id,
            urgent_only=urgent_only,
            include_all=True,
            today=today,
        )
    found = list(
        screen_rows(
            warehouse_id=warehouse_id,
            supplier_id=supplier_id,
            urgent_only=urgent_only,
            today=today,
        )
    )
    lead_times = supplier_lead_times(
        supplier_ids={inputs.term.supplier_id for inputs in found if inputs.term}
    )
    return list(rows_from_inputs(found, lead_times=lead_times, today=today))


def rows_from_inputs(
    found: Iterable[LevelInputs],
    *,
    lead_times: dict[int, LeadTimeStats],
    today: dt.date | None = None,
) -> Iterator[ReorderRow]:
    """Each level's row, in the order given, computed as its inputs arrive."""
    _start, _end, window_days = demand_window(today)
    # Settings are read once here, not once per row: a CSV computes tens of thousands of rows.
    knobs = _Settings(
        window_days=window_days,
        review_days=int(settings.BACKSTOCK_REVIEW_PERIOD_DAYS),
        service_level=float(settings.BACKSTOCK_SERVICE_LEVEL),
        ordering_cost=settings.BACKSTOCK_ORDERING_COST,
        holding_rate=settings.BACKSTOCK_HOLDING_COST_RATE,
    )
    for inputs in found:
        yield _row(inputs=inputs, lead_times=lead_times, knobs=knobs)


@dataclass(frozen=True)
class _Settings:
    window_days: int
    review_days: int
    service_level: float
    ordering_cost: float | None
    holding_rate: float | None


def suggestions_for(
    *,
    level_ids: Iterable[int] | None = None,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    include_all: bool = False,
    today: dt.date | None = None,
) -> list[ReorderRow]:
    """The suggestion rows, optionally for chosen levels only (what the write services recompute
    from: a posted quantity is never trusted)."""
    found = level_inputs(
        level_ids=None if level_ids is None else list(level_ids),
        warehouse_id=warehouse_id,
        supplier_id=supplier_id,
        today=today,
    )
    if not found:
        return []
    lead_times = supplier_lead_times(
        supplier_ids={inputs.term.supplier_id for inputs in found if inputs.term}
    )
    rows = []
    for row in rows_from_inputs(found, lead_times=lead_times, today=today):
        if urgent_only and not row.urgent:
            continue
        if include_all or _at_or_below_reorder_point(row):
            rows.append(row)
    rows.sort(
        key=lambda r: (
            r.supplier_name is None,
            (r.supplier_name or "").casefold(),
            r.warehouse_code,
            r.sku.casefold(),
        )
    )
    return rows


def _at_or_below_reorder_point(row: ReorderRow) -> bool:
    """A level is listed when customers wait for it, or when its projected stock is at or below
    its reorder point (so always when below the safety stock set on it)."""
    if row.backordered > 0:
        return True
    # An empty level nobody asked for sits "at" a reorder point of 0; there is nothing to decide.
    if row.rop == 0 and row.projected == 0 and row.d == 0:
        return False
    return row.projected <= row.rop


def _row(
    *, inputs: LevelInputs, lead_times: dict[int, LeadTimeStats], knobs: _Settings
) -> ReorderRow:
    flags = []
    review_days = knobs.review_days
    demand = demand_stats_from_sums(
        days=knobs.window_days, units=inputs.demand_units, squares=inputs.demand_squares
    )
    if demand.mean == 0:
        flags.append(NO_DEMAND)
    service_level = (
        float(inputs.service_level) if inputs.service_level is not None else knobs.service_level
    )
    z = z_for(service_level)
    available = inputs.on_hand - inputs.allocated
    projected = available + inputs.on_order - inputs.backordered

    term = inputs.term
    lead_time, sigma_lead_time, samples = 0.0, 0.0, 0
    if term is None:
        flags.append(NO_SUPPLIER)
    else:
        if not term.is_preferred:
            flags.append(NOT_PREFERRED)
        lead_time = float(term.lead_time_days)
        measured = lead_times.get(term.supplier_id)
        if measured is not None:
            samples = measured.samples
            if samples >= 2 and measured.measured_stdev:
                sigma_lead_time = measured.measured_stdev

    ss = safety_stock(
        z=z,
        d=demand.mean,
        sigma_d=demand.stdev,
        lead_time=lead_time,
        sigma_lead_time=sigma_lead_time,
    )
    lead_demand = lead_time_demand(d=demand.mean, lead_time=lead_time)
    review_demand = whole_units(demand.mean * review_days)
    rop = reorder_point(
        lead_demand=lead_demand, safety_stock=inputs.safety_stock, manual=inputs.reorder_point
    )
    pack_size = term.pack_size if term else 1
    min_order_qty = term.min_order_qty if term else 1
    qty = suggested_order_quantity(
        projected=projected,
        rop=rop,
        review_demand=review_demand,
        pack_size=pack_size,
        min_order_qty=min_order_qty,
    )
    unit_cost = term.unit_cost if term else None
    ordering_cost = None
    if term is not None:
        ordering_cost = (
            term.ordering_cost if term.ordering_cost is not None else knobs.ordering_cost
        )
    exact_eoq = eoq(
        annual_demand=demand.mean * 365,
        ordering_cost=ordering_cost,
        unit_cost=unit_cost,
        holding_rate=knobs.holding_rate,
    )
    return ReorderRow(
        level_id=inputs.level_id,
        product_id=inputs.product_id,
        sku=inputs.sku,
        name=inputs.name,
        unit=inputs.unit,
        warehouse_id=inputs.warehouse_id,
        warehouse_code=inputs.warehouse_code,
        on_hand=inputs.on_hand,
        allocated=inputs.allocated,
        available=available,
        backordered=inputs.backordered,
        on_order=inputs.on_order,
        projected=projected,
        safety_stock=inputs.safety_stock,
        suggested_safety_stock=ceil_clean(ss.value),
        safety_stock_result=ss,
        d=demand.mean,
        sigma_d=demand.stdev,
        demand_days=demand.days,
        lead_time_days=lead_time,
        sigma_lead_time=sigma_lead_time,
        lead_time_samples=samples,
        service_level=service_level,
        z=z,
        lead_demand=lead_demand,
        review_demand=review_demand,
        rop=rop,
        rop_is_manual=inputs.reorder_point is not None,
        review_days=review_days,
        suggested_qty=qty,
        pack_size=pack_size,
        min_order_qty=min_order_qty,
        unit_cost=unit_cost,
        line_value=unit_cost * qty if unit_cost is not None else None,
        eoq=exact_eoq,
        eoq_units=eoq_units(
            exact_eoq,
            annual_demand=demand.mean * 365,
            ordering_cost=ordering_cost or 0,
            holding_cost=float(unit_cost or 0) * float(knobs.holding_rate or 0),
        ),
        ordering_cost=Decimal(str(ordering_cost)) if ordering_cost is not None else None,
        holding_cost=(
            float(unit_cost) * float(knobs.holding_rate)
            if unit_cost is not None and knobs.holding_rate is not None
            else None
        ),
        supplier_id=term.supplier_id if term else None,
        supplier_name=term.supplier_name if term else None,
        supplier_is_preferred=bool(term and term.is_preferred),
        urgent=projected < inputs.safety_stock or inputs.backordered > 0,
        flags=tuple(flags),
    )
