"""Which levels need ordering, found in the database: one query for any catalogue size.

The dashboard cannot compute every suggestion in Python at 300,000 levels, so one query does the
screening — the same formulas as `planning.formulas`, in SQL — and hands back, in the dashboard's
order, the inputs of the rows asked for (a page, or every row for the CSV), with the totals of
the whole list and of each supplier group. The rows are then computed exactly, with their
working, by `planning.selectors.suggestions`.

What keeps the query to one pass over the levels:
- backordered and on order are the levels' stored counters (kept by the orders and suppliers
  services), so no order or purchase order line is read;
- demand comes from the window's stored daily totals (`orders.DailyDemand`), summed per level as
  Σx and Σx² (days without orders add 0 to both), so the mean and the sample deviation over all
  the window's days need no row per day;
- a level without demand in the window, without a queue and without a manual reorder point has
  d = σd = 0 and a reorder point of 0 while its projected stock is at least 0, so it cannot need
  ordering: only levels with demand, a queue or a manual reorder point are examined;
- the term a product is bought on is its active preferred supplier's, found by one hash join; the
  ranking of the other terms runs only for the products that have no such term;
- the product table is joined, for every examined level, only through its few unusual rows
  (inactive, or a service level of its own);
- the page is cut from the supplier groups it overlaps (the groups are counted and put in order
  first), so SKUs, names and units are read only there.

The standard normal quantile z (Python's `NormalDist.inv_cdf`) is Acklam's rational
approximation here (relative error below 1.2 × 10⁻⁹) for products with a service level of their
own; the default level's z is computed exactly once, and the rows shown use the exact value.
"""

# The SQL below is assembled from constants, table names and column names; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection

from inventory.models import Product, Warehouse
from planning.formulas import z_for
from planning.selectors.inputs import (
    DETAIL_COLUMNS,
    LevelInputs,
    decimal_from,
    details_from,
    inputs_from,
    levels_ctes,
)
from planning.selectors.sql import Query, as_float, days_between, greatest, table, z_sql
from planning.selectors.window import demand_window
from suppliers.models import PurchaseOrder, Shipment, Supplier

# Float noise must not push a ceiling up by a whole unit (as `formulas.ceil_clean`).
NOISE = 1e-9
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


# What a row hands on from the pass, besides its product, warehouse and term.
SHOWN_COLUMNS = (
    "c.level_id, c.product_id, c.warehouse_id, c.term_id, c.supplier_id, c.on_hand, c.allocated, "
    "c.backordered, c.on_order, c.safety_stock, c.reorder_point, c.s1, c.s2"
)


def _calc_ctes(query: Query, *, window_days: int) -> None:
    """`calc`: each examined level's projected stock, demand statistics and reorder point."""
    n = float(window_days)
    days = days_between("first_received", "sent_at")
    query.cte(
        "deliveries (supplier_id, sent_at, first_received) AS ("
        "SELECT po.supplier_id, po.sent_at, MIN(sh.received_at) "
        f"FROM {table(PurchaseOrder)} po JOIN {table(Shipment)} sh ON sh.purchase_order_id = po.id "
        "WHERE po.sent_at IS NOT NULL GROUP BY po.id, po.supplier_id, po.sent_at)"
    )
    query.cte(
        "lead (supplier_id, n, s1, s2) AS (SELECT supplier_id, COUNT(*), SUM(days), "
        "SUM(days * days) FROM (SELECT supplier_id, "
        f"{as_float(greatest(days, '0.0'))} AS days FROM deliveries) x GROUP BY supplier_id)"
    )
    # Only the unusual products are read for every level: most are active and use the default
    # service level, whose z is computed exactly, once, here.
    query.cte(
        "odd (id, is_active, service_level) AS MATERIALIZED ("
        f"SELECT id, is_active, service_level FROM {table(Product)} "
        "WHERE NOT is_active OR service_level IS NOT NULL)"
    )
    default_z = z_for(float(settings.BACKSTOCK_SERVICE_LEVEL))
    z = (
        f"CASE WHEN odd.service_level IS NULL THEN {default_z!r} "
        f"ELSE {z_sql(as_float('odd.service_level'))} END"
    )
    s1, s2 = as_float("c.s1"), as_float("c.s2")
    var_d = (
        f"CASE WHEN {n!r} >= 2 THEN {greatest(f'({s2} - {s1} * {s1} / {n!r}) / ({n!r} - 1)', '0.0')} "
        "ELSE 0.0 END"
    )
    var_l = (
        f"CASE WHEN ld.n >= 2 THEN {greatest('(ld.s2 - ld.s1 * ld.s1 / ld.n) / (ld.n - 1)', '0.0')} "
        "ELSE 0.0 END"
    )
    query.cte(
        "base AS (SELECT c.level_id, c.product_id, c.warehouse_id, c.term_id, c.supplier_id, "
        "c.on_hand, c.allocated, c.backordered, c.on_order, c.safety_stock, c.reorder_point, "
        "c.s1, c.s2, c.unit_cost, c.reorder_point AS manual_rop, "
        "c.on_hand - c.allocated + c.on_order - c.backordered AS projected, "
        f"{s1} / {n!r} AS d, {var_d} AS var_d, {z} AS z, "
        "COALESCE(c.lead_time_days, 0) AS lead, "
        f"{var_l} AS var_l, "
        "CASE WHEN COALESCE(c.pack_size, 1) > 1 THEN c.pack_size ELSE 1 END AS pack, "
        "CASE WHEN COALESCE(c.min_order_qty, 1) > 1 THEN c.min_order_qty ELSE 1 END AS minimum, "
        "CASE WHEN (odd.id IS NULL OR odd.is_active) AND wh.is_active THEN 1 ELSE 0 END AS active "
        "FROM chosen c "
        "LEFT JOIN odd ON odd.id = c.product_id "
        f"JOIN {table(Warehouse)} wh ON wh.id = c.warehouse_id "
        "LEFT JOIN lead ld ON ld.supplier_id = c.supplier_id)"
    )
    # SS = z × √(L σd² + d² σL²), which is z × σd × √L when σL = 0; never negative.
    safety = greatest("b.z * SQRT(b.lead * b.var_d + b.d * b.d * b.var_l)", "0.0")
    query.cte(
        "rops AS (SELECT b.*, "
        f"CASE WHEN b.manual_rop IS NOT NULL THEN b.manual_rop ELSE b.d * b.lead + {safety} END "
        "AS rop FROM base b)"
    )
    # Materialized: every number below reads the reorder point several times, and an inlined
    # expression would be worked out again at each reading.
    review_days = int(settings.BACKSTOCK_REVIEW_PERIOD_DAYS)
    query.cte(
        # Only what the list and the catalogue's totals read: every column is stored per level.
        "calc AS MATERIALIZED (SELECT r.level_id, r.product_id, r.warehouse_id, r.term_id, "
        "r.supplier_id, r.on_hand, r.allocated, r.backordered, r.on_order, r.safety_stock, "
        "r.reorder_point, r.s1, r.s2, r.unit_cost, r.projected, r.d, r.pack, r.minimum, "
        "r.active, r.rop, "
        f"CEILING(r.rop + r.d * {review_days} - r.projected - {NOISE!r}) AS shortfall, "
        "CASE WHEN r.projected < r.safety_stock OR r.backordered > 0 THEN 1 ELSE 0 END AS urgent "
        "FROM rops r)"
    )


def _listed_cte(
    query: Query,
    *,
    warehouse_id: int | None,
    supplier_id: int | None,
    urgent_only: bool,
) -> None:
    """`listed`: the levels at or below their reorder point, with each one's order value."""
    quantity = (
        "(CASE WHEN c.shortfall <= 0 THEN 0 "
        f"ELSE CEILING(1.0 * {greatest('c.shortfall', 'c.minimum')} / c.pack - {NOISE!r}) "
        "* c.pack END)"
    )
    where = [
        "c.active = 1",
        "c.projected <= c.rop",
        # An empty level nobody asked for sits "at" a reorder point of 0: nothing to decide.
        "NOT (c.rop = 0 AND c.projected = 0 AND c.d = 0)",
    ]
    params: list = []
    if warehouse_id:
        where.append("c.warehouse_id = %s")
        params.append(int(warehouse_id))
    if supplier_id:
        where.append("c.supplier_id = %s")
        params.append(int(supplier_id))
    if urgent_only:
        where.append("c.urgent = 1")
    query.cte(
        f"listed AS MATERIALIZED (SELECT {SHOWN_COLUMNS}, c.urgent, "
        f"COALESCE(c.unit_cost * {quantity}, 0) AS line_value "
        f"FROM calc c WHERE {' AND '.join(where)})",
        *params,
    )


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
    start, end, window_days = demand_window(today)
    query = Query()
    levels_ctes(
        query,
        start=start,
        end=end,
        # The catalogue's totals need every warehouse; the list is filtered further down.
        warehouse_id=None if catalogue else warehouse_id,
        level_ids=None,
        candidates_only=True,
    )
    _calc_ctes(query, window_days=window_days)
    _listed_cte(query, warehouse_id=warehouse_id, supplier_id=supplier_id, urgent_only=urgent_only)
    # The groups in the dashboard's order (as ORDER), each with how many rows come before it; then
    # the page from the few groups it overlaps, in ORDER within each group.
    query.cte(
        "groups AS MATERIALIZED (SELECT g.supplier_id, g.n_rows, g.n_urgent, g.n_value, "
        "SUM(g.n_rows) OVER (ORDER BY s.name IS NULL, LOWER(s.name), g.supplier_id) - g.n_rows "
        "AS before FROM (SELECT supplier_id, COUNT(*) AS n_rows, SUM(urgent) AS n_urgent, "
        "SUM(line_value) AS n_value FROM listed GROUP BY supplier_id) g "
        f"LEFT JOIN {table(Supplier)} s ON s.id = g.supplier_id)"
    )
    first, last = max(0, int(offset)), max(0, int(offset)) + max(0, int(limit))
    query.cte(
        "page AS MATERIALIZED (SELECT y.* FROM (SELECT l.*, g.before + ROW_NUMBER() OVER ("
        "PARTITION BY l.supplier_id ORDER BY wh.code, LOWER(p.sku), l.level_id) AS position "
        "FROM listed l JOIN groups g ON COALESCE(g.supplier_id, 0) = COALESCE(l.supplier_id, 0) "
        f"JOIN {table(Warehouse)} wh ON wh.id = l.warehouse_id "
        f"JOIN {table(Product)} p ON p.id = l.product_id "
        "WHERE g.before < %s AND g.before + g.n_rows > %s) y "
        "WHERE y.position > %s AND y.position <= %s)",
        last,
        first,
        first,
        last,
    )
    group = _padded({0: "supplier_id", 1: "n_rows", 2: "n_urgent", VALUE: "n_value"})
    total = _padded({0: "COALESCE(SUM(n_rows), 0)", 1: "COALESCE(SUM(n_urgent), 0)"})
    catalogue_select = ""
    if catalogue:
        counts = _padded(
            {
                0: "SUM(CASE WHEN c.s1 > 0 AND c.on_hand = c.allocated THEN 1 ELSE 0 END)",
                VALUE: "SUM(c.backordered * COALESCE(c.unit_cost, 0))",
            }
        )
        catalogue_select = f"UNION ALL SELECT 'c', NULL, {counts} FROM calc c "
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
    start, end, window_days = demand_window(today)
    query = Query()
    levels_ctes(
        query,
        start=start,
        end=end,
        warehouse_id=warehouse_id,
        level_ids=None,
        candidates_only=True,
    )
    _calc_ctes(query, window_days=window_days)
    _listed_cte(query, warehouse_id=warehouse_id, supplier_id=supplier_id, urgent_only=urgent_only)
    sql, params = query.sql(f"SELECT {DETAIL_COLUMNS} {details_from('listed')} ORDER BY {ORDER}")
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(STREAM_CHUNK):
            yield from (inputs_from(row) for row in chunk)
