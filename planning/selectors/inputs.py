"""What each product × warehouse brings to its suggestion, read in one query: the level with its
stored counters, its demand in the window summed per level, and the supply term it is bought on.

The term is the active preferred supplier's, found by one hash join; the ranking of the other
terms (quickest, then cheapest, then by name) runs only for the products without one.
"""

# The SQL below is assembled from constants, table names and column names; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from inventory.models import Product, Warehouse
from planning.sql import Query, levels_ctes, table
from planning.window import demand_window
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
