"""Reorder suggestions: one row per product × warehouse with every number that led to it.

A fixed number of queries whatever the number of rows:
1. the levels with available, backordered, on order and projected (`stock_overview`);
2. the daily demand totals per product × warehouse × day over the window;
3. the supply terms of those products (with their suppliers);
4–5. the suppliers' measured lead times (`supplier_lead_times`).
The statistics and formulas then run in Python (`inventory.planning`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from inventory.models import StockLevel
from planning.formulas import (
    SafetyStockResult,
    ceil_clean,
    demand_stats,
    eoq,
    reorder_point,
    safety_stock,
    suggested_order_quantity,
    z_for,
)

NO_SUPPLIER = "no supplier"
NOT_PREFERRED = "supplier not marked preferred"
NO_DEMAND = "no demand in the window"


@dataclass(frozen=True)
class SupplyTerm:
    """The supply term a suggestion uses (see `_term_choice`)."""

    supplier_id: int
    supplier_name: str
    is_preferred: bool
    unit_cost: Decimal
    lead_time_days: int
    min_order_qty: int
    pack_size: int
    ordering_cost: Decimal | None


@dataclass(frozen=True)
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
    rop: float
    rop_is_manual: bool
    review_days: int
    suggested_qty: int
    pack_size: int
    min_order_qty: int
    unit_cost: Decimal | None
    line_value: Decimal | None
    eoq: float | None
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


def demand_window(today: dt.date | None = None) -> tuple[dt.date, dt.date, int]:
    """(first day, last day, number of days) of the demand look-back window, ending today."""
    today = today or timezone.localdate()
    days = max(1, int(settings.BACKSTOCK_DEMAND_WINDOW_DAYS))
    return today - dt.timedelta(days=days - 1), today, days


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def reorder_suggestions(
    *,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    include_all: bool = False,
    today: dt.date | None = None,
) -> list[ReorderRow]:
    """Levels of active products (in active warehouses) whose projected stock is at or below the
    reorder point, sorted by supplier, warehouse, SKU: screened in SQL (`screen`), then computed
    with their working. With include_all every level is computed (small data only)."""
    from planning.selectors.screen import screen_page

    if include_all:
        return suggestions_for(
            warehouse_id=warehouse_id,
            supplier_id=supplier_id,
            urgent_only=urgent_only,
            include_all=True,
            today=today,
        )

    page = screen_page(
        warehouse_id=warehouse_id,
        supplier_id=supplier_id,
        urgent_only=urgent_only,
        limit=None,
        today=today,
    )
    return rows_in_order(page.level_ids, today=today)


def rows_in_order(
    level_ids: list[int], *, today: dt.date | None = None, lead_times: dict | None = None
) -> list[ReorderRow]:
    """The rows of the given levels, in the order given."""
    if not level_ids:
        return []
    rows = {
        row.level_id: row
        for row in suggestions_for(
            level_ids=level_ids, include_all=True, today=today, lead_times=lead_times
        )
    }
    return [rows[level_id] for level_id in level_ids if level_id in rows]


def suggestions_for(
    *,
    level_ids: Iterable[int] | None = None,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    include_all: bool = False,
    today: dt.date | None = None,
    lead_times: dict | None = None,
) -> list[ReorderRow]:
    """The suggestion rows, optionally for chosen levels only (what the write services recompute
    from: a posted quantity is never trusted)."""
    from inventory.selectors import stock_overview
    from suppliers.models import SupplierProduct
    from suppliers.selectors import supplier_lead_times

    levels = stock_overview(warehouse_id=warehouse_id).filter(
        product__is_active=True, warehouse__is_active=True
    )
    if level_ids is not None:
        ids = list(level_ids)
        if not ids:
            return []
        levels = levels.filter(pk__in=ids)
    if supplier_id:
        # Narrows the rows read; the exact match on the chosen term happens below.
        levels = levels.filter(
            Exists(
                SupplierProduct.objects.filter(
                    product_id=OuterRef("product_id"), supplier_id=supplier_id
                )
            )
        )
    start, end, window_days = demand_window(today)
    product_ids = levels.order_by().values("product_id")

    level_rows = list(levels)
    if not level_rows:
        return []
    daily = _daily_demand(product_ids=product_ids, warehouse_id=warehouse_id, start=start, end=end)
    terms = _terms_by_product(product_ids=product_ids)
    if lead_times is None:
        lead_times = supplier_lead_times(supplier_ids={t.supplier_id for t in terms.values()})

    review_days = int(settings.BACKSTOCK_REVIEW_PERIOD_DAYS)
    default_service_level = float(settings.BACKSTOCK_SERVICE_LEVEL)
    rows = []
    for level in level_rows:
        term = terms.get(level.product_id)
        if supplier_id and (term is None or term.supplier_id != int(supplier_id)):
            continue
        row = _row(
            level=level,
            term=term,
            daily=daily.get((level.product_id, level.warehouse_id), []),
            window_days=window_days,
            lead_times=lead_times,
            review_days=review_days,
            default_service_level=default_service_level,
        )
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
    # An empty level nobody asked for sits "at" a reorder point of 0; there is nothing to decide.
    if row.rop == 0 and row.projected == 0 and row.d == 0:
        return False
    return row.projected <= row.rop


def _daily_demand(
    *, product_ids: QuerySet, warehouse_id: int | None, start: dt.date, end: dt.date
) -> dict[tuple[int, int], list[int]]:
    """Units ordered per product × warehouse per day (cancelled units are not demand), as the
    non-zero days only; the window's other days are zeros."""
    from orders.models import DailyDemand

    days = DailyDemand.objects.filter(product_id__in=product_ids, day__gte=start, day__lte=end)
    if warehouse_id:
        days = days.filter(warehouse_id=warehouse_id)
    rows = (
        days.annotate(units=F("units_ordered") - F("units_cancelled"))
        .order_by()
        .values_list("product_id", "warehouse_id", "units")
    )
    daily: dict[tuple[int, int], list[int]] = defaultdict(list)
    for product, warehouse, units in rows:
        if units:
            daily[(product, warehouse)].append(units)
    return daily


def _terms_by_product(*, product_ids: QuerySet) -> dict[int, SupplyTerm]:
    """The term each product is bought on: its preferred supplier's; failing that (no preferred
    term, or the preferred supplier is inactive) the quickest other active supplier, then the
    cheapest. Inactive suppliers cannot be ordered from, so their terms are ignored."""
    from suppliers.models import SupplierProduct

    rows = (
        SupplierProduct.objects.filter(product_id__in=product_ids, supplier__is_active=True)
        .order_by("product_id", "-is_preferred", "lead_time_days", "unit_cost", "supplier__name")
        .values_list(
            "product_id",
            "supplier_id",
            "supplier__name",
            "is_preferred",
            "unit_cost",
            "lead_time_days",
            "min_order_qty",
            "pack_size",
            "supplier__ordering_cost",
        )
    )
    chosen: dict[int, SupplyTerm] = {}
    for product_id, *term in rows:
        if product_id not in chosen:
            chosen[product_id] = SupplyTerm(*term)
    return chosen


def _row(
    *,
    level: StockLevel,
    term: SupplyTerm | None,
    daily: list[int],
    window_days: int,
    lead_times: dict,
    review_days: int,
    default_service_level: float,
) -> ReorderRow:
    flags = []
    demand = demand_stats(daily + [0] * max(0, window_days - len(daily)))
    if demand.mean == 0:
        flags.append(NO_DEMAND)
    product = level.product
    service_level = (
        float(product.service_level) if product.service_level is not None else default_service_level
    )
    z = z_for(service_level)

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
    rop = reorder_point(
        d=demand.mean, lead_time=lead_time, safety_stock=ss.value, manual=level.reorder_point
    )
    pack_size = term.pack_size if term else 1
    min_order_qty = term.min_order_qty if term else 1
    qty = suggested_order_quantity(
        projected=level.projected,
        rop=rop,
        d=demand.mean,
        review_days=review_days,
        pack_size=pack_size,
        min_order_qty=min_order_qty,
    )
    unit_cost = term.unit_cost if term else None
    ordering_cost = None
    if term is not None:
        ordering_cost = (
            term.ordering_cost
            if term.ordering_cost is not None
            else settings.BACKSTOCK_ORDERING_COST
        )
    return ReorderRow(
        level_id=level.pk,
        product_id=level.product_id,
        sku=product.sku,
        name=product.name,
        unit=product.unit,
        warehouse_id=level.warehouse_id,
        warehouse_code=level.warehouse.code,
        on_hand=level.on_hand,
        allocated=level.allocated,
        available=level.available_qty,
        backordered=level.backordered,
        on_order=level.on_order,
        projected=level.projected,
        safety_stock=level.safety_stock,
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
        rop=rop,
        rop_is_manual=level.reorder_point is not None,
        review_days=review_days,
        suggested_qty=qty,
        pack_size=pack_size,
        min_order_qty=min_order_qty,
        unit_cost=unit_cost,
        line_value=unit_cost * qty if unit_cost is not None else None,
        eoq=eoq(
            annual_demand=demand.mean * 365,
            ordering_cost=ordering_cost,
            unit_cost=unit_cost,
            holding_rate=settings.BACKSTOCK_HOLDING_COST_RATE,
        ),
        ordering_cost=Decimal(str(ordering_cost)) if ordering_cost is not None else None,
        holding_cost=(
            float(unit_cost) * float(settings.BACKSTOCK_HOLDING_COST_RATE)
            if unit_cost is not None and settings.BACKSTOCK_HOLDING_COST_RATE is not None
            else None
        ),
        supplier_id=term.supplier_id if term else None,
        supplier_name=term.supplier_name if term else None,
        supplier_is_preferred=bool(term and term.is_preferred),
        urgent=level.projected < level.safety_stock or level.backordered > 0,
        flags=tuple(flags),
    )
