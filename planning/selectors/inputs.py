"""What each product × warehouse brings to its suggestion, read in one query: the level with its
stored counters, its demand in the window summed per level, and the supply term it is bought on.

The term is the active preferred supplier's, found by one hash join; the ranking of the other
terms (quickest, then cheapest, then by name) runs only for the products without one.
"""

# The SQL below is assembled from constants, table names and column names; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from inventory.models import Product, StockLevel, Warehouse
from orders.models import DailyDemand
from planning.selectors.sql import Query, as_wide, fence, table
from planning.selectors.window import demand_window
from suppliers.models import Supplier, SupplierProduct

CENTS = Decimal("0.01")


@dataclass(slots=True)
class SupplyTerm:
    """The supply term a suggestion uses: the active preferred supplier's, otherwise the quickest
    other active supplier's, then the cheapest, then by supplier name."""

    supplier_id: int
    supplier_name: str
    is_preferred: bool
    unit_cost: Decimal
    lead_time_days: int
    min_order_qty: int
    pack_size: int
    ordering_cost: Decimal | None


@dataclass(slots=True)
class LevelInputs:
    """What one product × warehouse brings to its suggestion, as stored."""

    level_id: int
    product_id: int
    warehouse_id: int
    sku: str
    name: str
    unit: str
    service_level: Decimal | None
    warehouse_code: str
    on_hand: int
    allocated: int
    backordered: int
    on_order: int
    safety_stock: int
    reorder_point: int | None
    # Σx and Σx² of the units ordered (net of cancellations) on each day of the demand window.
    demand_units: int
    demand_squares: int
    term: SupplyTerm | None


# The chosen term's numbers, each read from the preferred term when there is one and otherwise
# from the fallback term (a primary-key probe, made only for the levels that need one).
TERM_COLUMNS = ("supplier_id", "lead_time_days", "pack_size", "min_order_qty", "unit_cost")


def levels_ctes(
    query: Query,
    *,
    start: dt.date,
    end: dt.date,
    warehouse_id: int | None,
    level_ids: list[int] | None,
    candidates_only: bool,
) -> None:
    """`chosen`: the levels examined, each with its demand sums and its chosen term's numbers."""
    levels, terms, suppliers = table(StockLevel), table(SupplierProduct), table(Supplier)
    adapt = connection.ops.adapt_datefield_value
    days = ["day >= %s", "day <= %s"]
    day_params: list = [adapt(start), adapt(end)]
    level_where: list[str] = []
    level_params: list = []
    if warehouse_id:
        days.append("warehouse_id = %s")
        day_params.append(int(warehouse_id))
        level_where.append("lv.warehouse_id = %s")
        level_params.append(int(warehouse_id))
    if level_ids is not None:
        marks = ", ".join(["%s"] * len(level_ids))
        # A few chosen levels: their products' days and terms only, not the catalogue's.
        days.append(f"product_id IN (SELECT product_id FROM {levels} WHERE id IN ({marks}))")
        day_params.extend(level_ids)
        level_where.append(f"lv.id IN ({marks})")
        level_params.extend(level_ids)
    query.cte(
        "demand (product_id, warehouse_id, s1, s2) AS ("
        "SELECT product_id, warehouse_id, SUM(units_ordered - units_cancelled), "
        f"SUM({as_wide('units_ordered - units_cancelled')} * (units_ordered - units_cancelled)) "
        f"FROM {table(DailyDemand)} WHERE {' AND '.join(days)} "
        "GROUP BY product_id, warehouse_id)",
        *day_params,
    )
    query.cte(
        "preferred (product_id, term_id, supplier_id, lead_time_days, pack_size, min_order_qty, "
        "unit_cost) AS ("
        "SELECT sp.product_id, sp.id, sp.supplier_id, sp.lead_time_days, sp.pack_size, "
        f"sp.min_order_qty, sp.unit_cost FROM {terms} sp "
        f"JOIN {suppliers} s ON s.id = sp.supplier_id WHERE sp.is_preferred AND s.is_active)"
    )
    fallback = (
        f"(SELECT sp.id FROM {terms} sp JOIN {suppliers} s ON s.id = sp.supplier_id "
        "WHERE sp.product_id = lv.product_id AND s.is_active "
        "ORDER BY sp.lead_time_days, sp.unit_cost, s.name LIMIT 1)"
    )
    if candidates_only:
        level_where.insert(
            0,
            "(dm.product_id IS NOT NULL OR lv.backordered > 0 OR lv.reorder_point IS NOT NULL)",
        )
    where = f"WHERE {' AND '.join(level_where)}" if level_where else ""
    # Fenced: the planner cannot tell how few levels have demand, and would otherwise join every
    # level to its term before dropping the ones without.
    query.cte(
        "candidates AS ("
        "SELECT lv.id AS level_id, lv.product_id, lv.warehouse_id, lv.on_hand, lv.allocated, "
        "lv.backordered, lv.on_order, lv.safety_stock, lv.reorder_point, "
        "COALESCE(dm.s1, 0) AS s1, COALESCE(dm.s2, 0) AS s2 "
        f"FROM {levels} lv "
        "LEFT JOIN demand dm ON dm.product_id = lv.product_id AND dm.warehouse_id = lv.warehouse_id "
        f"{where}{fence()})",
        *level_params,
    )
    # Fenced too: the fallback term is looked up once per level that needs one, not once per
    # column that reads it.
    query.cte(
        "levels AS ("
        "SELECT lv.*, pt.term_id AS preferred_id, "
        + ", ".join(f"pt.{name} AS preferred_{name}" for name in TERM_COLUMNS)
        + f", CASE WHEN pt.term_id IS NULL THEN {fallback} END AS fallback_id "
        f"FROM candidates lv LEFT JOIN preferred pt ON pt.product_id = lv.product_id{fence()})"
    )
    chosen = ", ".join(
        f"CASE WHEN l.preferred_id IS NOT NULL THEN l.preferred_{name} "
        f"WHEN l.fallback_id IS NOT NULL THEN "
        f"(SELECT f.{name} FROM {terms} f WHERE f.id = l.fallback_id) END AS {name}"
        for name in TERM_COLUMNS
    )
    query.cte(
        "chosen AS (SELECT l.level_id, l.product_id, l.warehouse_id, l.on_hand, l.allocated, "
        "l.backordered, l.on_order, l.safety_stock, l.reorder_point, l.s1, l.s2, "
        f"COALESCE(l.preferred_id, l.fallback_id) AS term_id, {chosen} FROM levels l)"
    )


DETAIL_COLUMNS = (
    "x.level_id, x.product_id, x.warehouse_id, p.sku, p.name, p.unit, p.service_level, wh.code, "
    "x.on_hand, x.allocated, x.backordered, x.on_order, x.safety_stock, x.reorder_point, "
    "x.s1, x.s2, t.supplier_id, s.name, t.is_preferred, t.unit_cost, t.lead_time_days, "
    "t.min_order_qty, t.pack_size, s.ordering_cost"
)


def details_from(source: str) -> str:
    """FROM clause joining rows of `source` (aliased x, with the chosen columns) to what a row
    shows: product, warehouse, chosen term and its supplier."""
    return (
        f"FROM {source} x JOIN {table(Product)} p ON p.id = x.product_id "
        f"JOIN {table(Warehouse)} wh ON wh.id = x.warehouse_id "
        f"LEFT JOIN {table(SupplierProduct)} t ON t.id = x.term_id "
        f"LEFT JOIN {table(Supplier)} s ON s.id = t.supplier_id"
    )


def decimal_from(value, places: Decimal = CENTS) -> Decimal | None:
    # PostgreSQL hands decimals back exact, at their column's places; SQLite as floats.
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(places)


def inputs_from(row) -> LevelInputs:
    (level_id, product_id, warehouse_id, sku, name, unit, service_level, code, on_hand, allocated,
     backordered, on_order, safety_stock, reorder_point, s1, s2, supplier_id, supplier_name,
     is_preferred, unit_cost, lead_time_days, min_order_qty, pack_size, ordering_cost) = row  # fmt: skip
    term = None
    if supplier_id is not None:
        term = SupplyTerm(
            supplier_id=supplier_id,
            supplier_name=supplier_name,
            is_preferred=bool(is_preferred),
            unit_cost=decimal_from(unit_cost),
            lead_time_days=int(lead_time_days),
            min_order_qty=int(min_order_qty),
            pack_size=int(pack_size),
            ordering_cost=decimal_from(ordering_cost),
        )
    return LevelInputs(
        level_id=level_id,
        product_id=product_id,
        warehouse_id=warehouse_id,
        sku=sku,
        name=name,
        unit=unit,
        service_level=decimal_from(service_level, Decimal("0.0001")),
        warehouse_code=code,
        on_hand=on_hand,
        allocated=allocated,
        backordered=int(backordered),
        on_order=int(on_order),
        safety_stock=safety_stock,
        reorder_point=reorder_point,
        demand_units=int(s1),
        demand_squares=int(s2),
        term=term,
    )


def level_inputs(
    *,
    level_ids: list[int] | None = None,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    today: dt.date | None = None,
) -> list[LevelInputs]:
    """The inputs of chosen levels (or of every level), of active products in active warehouses,
    screened or not: what the write services recompute from, never a posted number."""
    if level_ids is not None and not level_ids:
        return []
    start, end, _days = demand_window(today)
    query = Query()
    levels_ctes(
        query,
        start=start,
        end=end,
        warehouse_id=warehouse_id,
        level_ids=level_ids,
        candidates_only=False,
    )
    where = ["p.is_active", "wh.is_active"]
    params: list = []
    if supplier_id:
        where.append("x.supplier_id = %s")
        params.append(int(supplier_id))
    sql, params = query.sql(
        f"SELECT {DETAIL_COLUMNS} {details_from('chosen')} WHERE {' AND '.join(where)}", *params
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [inputs_from(row) for row in cursor.fetchall()]
