"""Which levels need ordering, found in the database: one query for any catalogue size.

The dashboard cannot compute every suggestion in Python at 300,000 levels, so one query does the
screening — the same formulas as `planning.formulas`, in SQL — and hands back, in the dashboard's
order, the inputs of the rows asked for (a page, or every row for the CSV), with the totals of
the whole list and of each supplier group. The rows are then computed exactly, with their
working, by `planning.selectors.suggestions`.

What keeps the query to one pass over the planned levels:
- each level that can need ordering has a row in the stored plan (`planning.models.LevelPlan`):
  its demand's mean and variance over the window, its chosen term's numbers, its lead-time and
  review-period demand (whole units), whether product and warehouse are active, and a
  trigger-kept copy of its counters, safety stock and manual reorder point. The screen makes
  sure the plan is for today's window (`plan_current`), then reads that table alone;
- a level without a plan row has no demand in the window, no queue, no manual reorder point and
  no safety stock, so its reorder point is 0 while its projected stock is at least 0: it cannot
  need ordering;
- one pass counts, per supplier, the rows at or below their reorder point, the urgent ones and
  their order value, and the catalogue's stockouts and backorder value;
- the page is cut from the supplier groups it overlaps (the groups are counted and put in order
  first), so SKUs, names and units are read only there.

The reorder point is whole units: the plan's lead-time demand ⌈d × L⌉ plus the safety stock set
on the level (or the manual reorder point), so the SQL and the rows agree to the unit.
"""

# The SQL below is assembled from constants, table names and column names; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from inventory.models import Product, Warehouse
from planning.models import LevelPlan
from planning.plan import plan_current
from planning.selectors.inputs import (
    DETAIL_COLUMNS,
    LevelInputs,
    decimal_from,
    details_from,
    inputs_from,
)
from planning.sql import Query, greatest, table
from suppliers.models import Supplier

# Rows fetched at a time from the streamed (CSV) form of the query.
STREAM_CHUNK = 2000


@dataclass(frozen=True)
class GroupTotals:
    """A supplier group over the whole list, not just the page."""

    rows: int
    urgent: int
    value: Decimal


@dataclass(frozen=True)
class CatalogueTotals:
    """Numbers of every level, whatever the filters: the KPIs the screen's pass gives for free."""

    stockouts: int
    backorder_value: Decimal


@dataclass
class ScreenPage:
    """One page of the screened list: the rows' inputs in order, their groups, the list's totals
    and (when asked for) the catalogue's."""

    total: int = 0
    urgent: int = 0
    rows: list[LevelInputs] = field(default_factory=list)
    groups: dict[int | None, GroupTotals] = field(default_factory=dict)
    catalogue: CatalogueTotals | None = None

    @property
    def level_ids(self) -> list[int]:
        return [row.level_id for row in self.rows]


# What a row hands on to its details (`inputs_from`), from `rows` (aliased c).
SHOWN_COLUMNS = (
    "c.level_id, c.product_id, c.warehouse_id, c.term_id, c.supplier_id, c.on_hand, c.allocated, "
    "c.backordered, c.on_order, c.safety_stock, c.reorder_point, c.s1, c.s2"
)


def _rows_cte(query: Query, *, warehouse_id: int | None) -> None:
    """`rows`: each planned level with its counters (the plan's trigger-kept copy), projected
    stock and reorder point (the manual one when set, else the lead-time demand plus the safety
    stock set on the level). Not materialized: each reader takes only the columns it needs."""
    where, params = "", []
    if warehouse_id:
        where, params = " WHERE pl.warehouse_id = %s", [int(warehouse_id)]
    query.cte(
        f"rows AS{' NOT MATERIALIZED' if connection.vendor == 'postgresql' else ''} ("
        "SELECT pl.level_id, pl.product_id, pl.warehouse_id, pl.term_id, pl.supplier_id, "
        "pl.on_hand, pl.allocated, pl.backordered, pl.on_order, pl.safety_stock, "
        "pl.reorder_point, pl.demand_units AS s1, pl.demand_squares AS s2, pl.unit_cost, "
        "pl.daily_mean AS d, pl.review_demand AS review, pl.is_active AS active, "
        "pl.on_hand - pl.allocated + pl.on_order - pl.backordered AS projected, "
        "COALESCE(pl.reorder_point, pl.lead_demand + pl.safety_stock) AS rop, "
        "CASE WHEN COALESCE(pl.pack_size, 1) > 1 THEN pl.pack_size ELSE 1 END AS pack, "
        "CASE WHEN COALESCE(pl.min_order_qty, 1) > 1 THEN pl.min_order_qty ELSE 1 END AS minimum "
        f"FROM {table(LevelPlan)} pl{where})",
        *params,
    )


URGENT = "(c.projected < c.safety_stock OR c.backordered > 0)"


def _listed(
    *, warehouse_id: int | None, supplier_id: int | None, urgent_only: bool
) -> tuple[str, list]:
    """The condition (on `rows` aliased c) of a level on the list: active, with customers
    waiting or at or below its reorder point, and within the filters."""
    where = [
        "c.active",
        # An empty level nobody asked for sits "at" a reorder point of 0: nothing to decide.
        "(c.backordered > 0 OR (c.projected <= c.rop "
        "AND NOT (c.rop = 0 AND c.projected = 0 AND c.d = 0)))",
    ]
    params: list = []
    if warehouse_id:
        where.append("c.warehouse_id = %s")
        params.append(int(warehouse_id))
    if supplier_id:
        where.append("c.supplier_id = %s")
        params.append(int(supplier_id))
    if urgent_only:
        where.append(URGENT)
    return "(" + " AND ".join(where) + ")", params


def _line_value() -> str:
    """The value (on `rows` aliased c) of the order the level needs: nothing while projected
    stock is above the reorder point; else the shortfall up to ROP + RD, raised to the minimum
    and rounded up to whole packs, at unit cost (whole numbers throughout)."""
    shortfall = "(c.rop + c.review - c.projected)"
    quantity = (
        f"(CASE WHEN c.projected > c.rop OR {shortfall} <= 0 THEN 0 "
        f"ELSE ({greatest(shortfall, 'c.minimum')} + c.pack - 1) / c.pack * c.pack END)"
    )
    return f"COALESCE(c.unit_cost * {quantity}, 0)"


# The dashboard's order: supplier name (no supplier last), warehouse code, SKU.
ORDER = "s.name IS NULL, LOWER(s.name), x.supplier_id, wh.code, LOWER(p.sku), x.level_id"


WIDTH = DETAIL_COLUMNS.count(",") + 1
# Where the group and total rows put a sum of money: the unit cost's column, a decimal too.
VALUE = 19


def _padded(values: dict[int, str]) -> str:
    """A row as wide as the detail columns with `values` at their places and NULL elsewhere, so
    totals can travel in the same result as the page's rows (integers go in integer columns,
    money in the unit cost's)."""
    return ", ".join(values.get(index, "NULL") for index in range(WIDTH))


def screen_page(
    *,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    offset: int = 0,
    limit: int = 100,
    catalogue: bool = False,
    today: dt.date | None = None,
) -> ScreenPage:
    """One page of suggestions in the dashboard's order (supplier name, no supplier last;
    warehouse code; SKU): the rows' inputs, the totals of the whole list and of each supplier
    group on the page. With `catalogue`, the same pass also counts the stockouts and values the
    backorder of every level, whatever the filters (the dashboard's KPIs)."""
    plan_current(today=today)
    query = Query()
    # The catalogue's totals need every warehouse; the list is filtered in its condition.
    _rows_cte(query, warehouse_id=None if catalogue else warehouse_id)
    listed, listed_params = _listed(
        warehouse_id=warehouse_id, supplier_id=supplier_id, urgent_only=urgent_only
    )
    # One pass over the planned levels: each supplier's listed rows, urgent rows and value, and
    # the catalogue's stockouts and backorder value.
    query.cte(
        "tally AS MATERIALIZED (SELECT c.supplier_id, "
        f"SUM(CASE WHEN {listed} THEN 1 ELSE 0 END) AS n_rows, "
        f"SUM(CASE WHEN {listed} AND {URGENT} THEN 1 ELSE 0 END) AS n_urgent, "
        f"SUM(CASE WHEN {listed} THEN {_line_value()} ELSE 0 END) AS n_value, "
        "SUM(CASE WHEN c.s1 > 0 AND c.on_hand = c.allocated THEN 1 ELSE 0 END) AS stockouts, "
        "SUM(c.backordered * COALESCE(c.unit_cost, 0)) AS backorder_value "
        "FROM rows c GROUP BY c.supplier_id)",
        *listed_params,
        *listed_params,
        *listed_params,
    )
    # The groups in the dashboard's order (as ORDER), each with how many rows come before it; then
    # the page from the few groups it overlaps, in ORDER within each group.
    query.cte(
        "groups AS MATERIALIZED (SELECT g.supplier_id, g.n_rows, g.n_urgent, g.n_value, "
        "SUM(g.n_rows) OVER (ORDER BY s.name IS NULL, LOWER(s.name), g.supplier_id) - g.n_rows "
        f"AS before FROM tally g LEFT JOIN {table(Supplier)} s ON s.id = g.supplier_id "
        "WHERE g.n_rows > 0)"
    )
    first, last = max(0, int(offset)), max(0, int(offset)) + max(0, int(limit))
    # On PostgreSQL each overlapping group's rows are read through the plan's supplier index (a
    # lateral join; the planner cannot know how few groups overlap the page).
    group_rows = (
        "CROSS JOIN LATERAL (SELECT * FROM rows r WHERE r.supplier_id = g.supplier_id OFFSET 0) c"
        if connection.vendor == "postgresql"
        else "JOIN rows c ON c.supplier_id = g.supplier_id"
    )
    query.cte(
        "page AS MATERIALIZED (SELECT y.* FROM (SELECT "
        f"{SHOWN_COLUMNS}, c.before + ROW_NUMBER() OVER ("
        "PARTITION BY c.supplier_id ORDER BY wh.code, LOWER(p.sku), c.level_id) AS position "
        # A group's rows through the plan's supplier index; the group without one apart.
        f"FROM (SELECT c.*, g.before FROM groups g {group_rows} "
        f"WHERE g.before < %s AND g.before + g.n_rows > %s AND {listed} "
        "UNION ALL SELECT c.*, g.before FROM groups g JOIN rows c ON c.supplier_id IS NULL "
        f"WHERE g.supplier_id IS NULL AND g.before < %s AND g.before + g.n_rows > %s AND {listed}) c "
        f"JOIN {table(Warehouse)} wh ON wh.id = c.warehouse_id "
        f"JOIN {table(Product)} p ON p.id = c.product_id) y "
        "WHERE y.position > %s AND y.position <= %s)",
        last,
        first,
        *listed_params,
        last,
        first,
        *listed_params,
        first,
        last,
    )
    group = _padded({0: "supplier_id", 1: "n_rows", 2: "n_urgent", VALUE: "n_value"})
    total = _padded({0: "COALESCE(SUM(n_rows), 0)", 1: "COALESCE(SUM(n_urgent), 0)"})
    catalogue_select = ""
    if catalogue:
        counts = _padded({0: "SUM(stockouts)", VALUE: "SUM(backorder_value)"})
        catalogue_select = f"UNION ALL SELECT 'c', NULL, {counts} FROM tally "
    sql, params = query.sql(
        f"SELECT 'r', x.position, {DETAIL_COLUMNS} {details_from('page')} "
        # A group's rows, urgent rows and value; only the groups with a row on the page.
        f"UNION ALL SELECT 'g', NULL, {group} FROM groups "
        "WHERE COALESCE(supplier_id, 0) IN (SELECT COALESCE(supplier_id, 0) FROM page) "
        f"UNION ALL SELECT 't', NULL, {total} FROM groups {catalogue_select}"
        "ORDER BY 1 DESC, 2"
    )
    page = ScreenPage()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, _position, *values in cursor.fetchall():
            if kind == "r":
                page.rows.append(inputs_from(values))
            elif kind == "g":
                page.groups[values[0]] = GroupTotals(
                    rows=int(values[1]),
                    urgent=int(values[2]),
                    value=decimal_from(values[VALUE] or 0),
                )
            elif kind == "t":
                page.total, page.urgent = int(values[0]), int(values[1])
            else:
                page.catalogue = CatalogueTotals(
                    stockouts=int(values[0] or 0), backorder_value=decimal_from(values[VALUE] or 0)
                )
    return page


def screen_rows(
    *,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    today: dt.date | None = None,
) -> Iterator[LevelInputs]:
    """Every suggested row's inputs in the dashboard's order, read as they are consumed (a
    server-side cursor on PostgreSQL): one query, and memory flat in the number of rows."""
    plan_current(today=today)
    query = Query()
    _rows_cte(query, warehouse_id=warehouse_id)
    listed, params = _listed(
        warehouse_id=warehouse_id, supplier_id=supplier_id, urgent_only=urgent_only
    )
    query.cte(f"listed AS (SELECT {SHOWN_COLUMNS} FROM rows c WHERE {listed})", *params)
    sql, params = query.sql(f"SELECT {DETAIL_COLUMNS} {details_from('listed')} ORDER BY {ORDER}")
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(STREAM_CHUNK):
            yield from (inputs_from(row) for row in chunk)
