"""Which levels need ordering, found in the database: one query for any catalogue size.

The dashboard cannot compute every suggestion in Python at 300,000 levels, so this query does the
screening — the same formulas as `inventory.planning`, in SQL — and returns one page of level ids
in the dashboard's order, with the totals of the whole list and of each supplier group. The rows
of that page are then computed exactly, with their working, by `suggestions_for`.

How the query stays cheap:
- demand comes from the window's order lines only, summed per day and then per level as Σx and
  Σx² (days without orders add 0 to both), so the mean and the sample deviation over all the
  window's days need no row per day;
- a level without demand in the window and without a manual reorder point has d = σd = 0 and a
  reorder point of 0, so it can only need ordering when customers wait for it (projected < 0);
  only levels with demand, a queue or a manual reorder point are examined at all;
- backordered, on order and the lead-time statistics are grouped once and joined, instead of a
  correlated subquery per level.

The standard normal quantile z (Python's `NormalDist.inv_cdf`) is Acklam's rational
approximation here (relative error below 1.2 × 10⁻⁹); the rows shown use the exact value.
"""

# The SQL below is assembled from constants and the ORM's compiled parts; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F, Min, Sum, Window
from django.db.models.functions import RowNumber

from planning.formulas import z_for

# Float noise must not push a ceiling up by a whole unit (as `planning.ceil_clean`).
NOISE = 1e-9


@dataclass(frozen=True)
class GroupTotals:
    """A supplier group over the whole list, not just the page."""

    rows: int
    urgent: int
    value: Decimal


@dataclass
class ScreenPage:
    """One page of the screened list: level ids in order, their groups, and the list's totals."""

    total: int = 0
    urgent: int = 0
    level_ids: list[int] = field(default_factory=list)
    supplier_ids: list[int | None] = field(default_factory=list)
    groups: dict[int | None, GroupTotals] = field(default_factory=dict)


def _sql(queryset) -> tuple[str, tuple]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _parts(*, warehouse_id: int | None, start: dt.date, end: dt.date) -> dict[str, tuple]:
    """The grouped inputs, written with the ORM (portable time zones and column names)."""
    from orders.models import DailyDemand, OrderLine, SalesOrderStatus
    from suppliers.models import PurchaseOrder, SupplierProduct
    from suppliers.selectors import OUTSTANDING, open_po_lines

    # The stored daily demand (kept by the order services): one row per level and day.
    days = DailyDemand.objects.filter(day__gte=start, day__lte=end)
    # An order waits exactly while one of its lines waits (as `orders.selectors.backorder_lines`
    # relies on; check_stock verifies it): naming the status drops no line and lets PostgreSQL
    # read the waiting orders from their partial index instead of hashing all 200,000 orders.
    waiting = OrderLine.objects.filter(
        quantity_backordered__gt=0, order__status=SalesOrderStatus.BACKORDERED
    )
    incoming = open_po_lines()
    if warehouse_id:
        days = days.filter(warehouse_id=warehouse_id)
        waiting = waiting.filter(order__warehouse_id=warehouse_id)
        incoming = incoming.filter(purchase_order__warehouse_id=warehouse_id)
    daily = (
        days.annotate(units=F("units_ordered") - F("units_cancelled"))
        .order_by()
        .values_list("product_id", "warehouse_id", "units")
    )
    waiting = (
        waiting.values("product_id", "order__warehouse_id")
        .annotate(units=Sum("quantity_backordered"))
        .order_by()
        .values_list("product_id", "order__warehouse_id", "units")
    )
    incoming = (
        incoming.values("product_id", "purchase_order__warehouse_id")
        .annotate(units=Sum(OUTSTANDING))
        .order_by()
        .values_list("product_id", "purchase_order__warehouse_id", "units")
    )
    # The term each product is bought on, ranked as `suggestions._terms_by_product` chooses.
    terms = (
        SupplierProduct.objects.filter(supplier__is_active=True)
        .annotate(
            choice=Window(
                RowNumber(),
                partition_by=[F("product_id")],
                order_by=[
                    F("is_preferred").desc(),
                    F("lead_time_days").asc(),
                    F("unit_cost").asc(),
                    F("supplier__name").asc(),
                ],
            )
        )
        .order_by()
        .values_list(
            "product_id",
            "supplier_id",
            "supplier__name",
            "lead_time_days",
            "pack_size",
            "min_order_qty",
            "unit_cost",
            "choice",
        )
    )
    deliveries = (
        PurchaseOrder.objects.filter(sent_at__isnull=False, shipments__isnull=False)
        .values("id", "supplier_id", "sent_at")
        .annotate(first_received=Min("shipments__received_at"))
        .order_by()
        .values_list("supplier_id", "sent_at", "first_received")
    )
    return {
        "daily": _sql(daily),
        "waiting": _sql(waiting),
        "incoming": _sql(incoming),
        "terms": _sql(terms),
        "deliveries": _sql(deliveries),
    }


def _days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def _z_sql(level: str) -> str:
    """Acklam's approximation of the standard normal quantile of `level` (0 < level < 1)."""
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628274631000)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)

    def poly(coefs, x):
        text = repr(coefs[0])
        for coef in coefs[1:]:
            text = f"({text}) * {x} + ({coef!r})"
        return text

    q = f"({level} - 0.5)"
    r = f"({q} * {q})"
    central = f"({poly(a, r)}) * {q} / (({poly(b, r)}) * {r} + 1.0)"
    lower_t = f"SQRT(-2.0 * LN({level}))"
    upper_t = f"SQRT(-2.0 * LN(1.0 - {level}))"
    lower = f"({poly(c, lower_t)}) / (({poly(d, lower_t)}) * {lower_t} + 1.0)"
    upper = f"-({poly(c, upper_t)}) / (({poly(d, upper_t)}) * {upper_t} + 1.0)"
    return (
        f"(CASE WHEN {level} < 0.02425 THEN {lower} "
        f"WHEN {level} > 0.97575 THEN {upper} ELSE {central} END)"
    )


def _float(expression: str) -> str:
    # PostgreSQL sums integers as numeric, whose arithmetic and square roots are exact and slow.
    return f"CAST({expression} AS DOUBLE PRECISION)"


def _greatest(a: str, b: str) -> str:
    return f"(CASE WHEN {a} > {b} THEN {a} ELSE {b} END)"


def screen_page(
    *,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    offset: int = 0,
    limit: int | None = 100,
    today: dt.date | None = None,
) -> ScreenPage:
    """Level ids of one page of suggestions in the dashboard's order (supplier name, no supplier
    last; warehouse code; SKU), with the totals of the whole list and of each supplier group."""
    from planning.selectors.suggestions import demand_window

    start, end, window_days = demand_window(today)
    parts = _parts(warehouse_id=warehouse_id, start=start, end=end)
    review_days = int(settings.BACKSTOCK_REVIEW_PERIOD_DAYS)
    default_level = float(settings.BACKSTOCK_SERVICE_LEVEL)
    n = float(window_days)
    columns = {
        "daily": "product_id, warehouse_id, units",
        "waiting": "product_id, warehouse_id, units",
        "incoming": "product_id, warehouse_id, units",
        "terms": "product_id, supplier_id, supplier_name, lead_time_days, pack_size, "
        "min_order_qty, unit_cost, choice",
        "deliveries": "supplier_id, sent_at, first_received",
    }
    params: list = []
    ctes = []
    for name, names in columns.items():
        sql, part_params = parts[name]
        ctes.append(f"{name} ({names}) AS ({sql})")
        params.extend(part_params)
    ctes.append(
        "demand (product_id, warehouse_id, s1, s2) AS (SELECT product_id, warehouse_id, "
        f"{_float('SUM(units)')}, {_float('SUM(units * units)')} FROM daily "
        "GROUP BY product_id, warehouse_id)"
    )
    days = _days_between("first_received", "sent_at")
    ctes.append(
        "lead (supplier_id, n, s1, s2) AS (SELECT supplier_id, COUNT(*), SUM(days), "
        "SUM(days * days) FROM (SELECT supplier_id, "
        f"{_float(_greatest(days, '0.0'))} AS days FROM deliveries) AS x GROUP BY supplier_id)"
    )
    where = [
        "p.is_active",
        "wh.is_active",
        "(dm.product_id IS NOT NULL OR wt.product_id IS NOT NULL OR lv.reorder_point IS NOT NULL)",
    ]
    if warehouse_id:
        where.append("lv.warehouse_id = %s")
    base_params = [int(warehouse_id)] if warehouse_id else []
    if supplier_id:
        where.append("t.supplier_id = %s")
        base_params.append(int(supplier_id))
    # Most products use the default service level, whose z is exact and computed once here.
    default_z = z_for(default_level)
    z_expr = (
        f"CASE WHEN p.service_level IS NULL THEN {default_z!r} "
        f"ELSE {_z_sql(_float('p.service_level'))} END"
    )
    base = f"""
        SELECT lv.id AS level_id, lv.safety_stock, lv.reorder_point AS manual_rop,
            p.sku, wh.code AS warehouse_code, t.supplier_id, t.supplier_name,
            COALESCE(wt.units, 0) AS backordered,
            lv.on_hand - lv.allocated + COALESCE(inc.units, 0) - COALESCE(wt.units, 0)
                AS projected,
            COALESCE(dm.s1, 0) / {n!r} AS d,
            CASE WHEN {n!r} >= 2 THEN
                {
        _greatest(
            f"(COALESCE(dm.s2, 0) - COALESCE(dm.s1, 0) * COALESCE(dm.s1, 0) / {n!r}) / ({n!r} - 1)",
            "0.0",
        )
    }
            ELSE 0.0 END AS var_d,
            {z_expr} AS z,
            COALESCE(t.lead_time_days, 0) AS lead,
            CASE WHEN ld.n >= 2 THEN
                {_greatest("(ld.s2 - ld.s1 * ld.s1 / ld.n) / (ld.n - 1)", "0.0")}
            ELSE 0.0 END AS var_l,
            CASE WHEN COALESCE(t.pack_size, 1) > 1 THEN t.pack_size ELSE 1 END AS pack,
            CASE WHEN COALESCE(t.min_order_qty, 1) > 1 THEN t.min_order_qty ELSE 1 END AS minimum,
            t.unit_cost
        FROM inventory_stocklevel lv
        JOIN inventory_product p ON p.id = lv.product_id
        JOIN inventory_warehouse wh ON wh.id = lv.warehouse_id
        LEFT JOIN demand dm ON dm.product_id = lv.product_id AND dm.warehouse_id = lv.warehouse_id
        LEFT JOIN waiting wt
            ON wt.product_id = lv.product_id AND wt.warehouse_id = lv.warehouse_id
        LEFT JOIN incoming inc
            ON inc.product_id = lv.product_id AND inc.warehouse_id = lv.warehouse_id
        LEFT JOIN terms t ON t.product_id = lv.product_id AND t.choice = 1
        LEFT JOIN lead ld ON ld.supplier_id = t.supplier_id
        WHERE {" AND ".join(where)}
    """
    # SS = z × √(L σd² + d² σL²), which is z × σd × √L when σL = 0; never negative.
    safety = f"{_greatest('b.z * SQRT(b.lead * b.var_d + b.d * b.d * b.var_l)', '0.0')}"
    rop = f"(CASE WHEN b.manual_rop IS NOT NULL THEN b.manual_rop ELSE b.d * b.lead + {safety} END)"
    calc = f"""
        SELECT b.*, {rop} AS rop,
            CASE WHEN b.projected < b.safety_stock OR b.backordered > 0 THEN 1 ELSE 0 END
                AS urgent
        FROM base b
    """
    shortfall = f"CEILING(c.rop + c.d * {review_days} - c.projected - {NOISE!r})"
    wanted = _greatest(shortfall, "c.minimum")
    quantity = (
        f"(CASE WHEN {shortfall} <= 0 THEN 0 "
        f"ELSE CEILING(1.0 * {wanted} / c.pack - {NOISE!r}) * c.pack END)"
    )
    chosen = [
        "c.projected <= c.rop",
        "NOT (c.rop = 0 AND c.projected = 0 AND c.d = 0)",
    ]
    if urgent_only:
        chosen.append("c.urgent = 1")
    listed = f"""
        SELECT c.level_id, c.supplier_id, c.urgent,
            COALESCE(c.unit_cost * {quantity}, 0) AS line_value,
            ROW_NUMBER() OVER (ORDER BY c.supplier_name IS NULL, LOWER(c.supplier_name),
                c.supplier_id, c.warehouse_code, LOWER(c.sku), c.level_id) AS position
        FROM calc c WHERE {" AND ".join(chosen)}
    """
    grouped = """
        SELECT l.*, COUNT(*) OVER (PARTITION BY l.supplier_id) AS group_rows,
            SUM(l.urgent) OVER (PARTITION BY l.supplier_id) AS group_urgent,
            SUM(l.line_value) OVER (PARTITION BY l.supplier_id) AS group_value
        FROM listed l
    """
    page_filter = "g.position > %s"
    page_params: list = [int(offset)]
    if limit is not None:
        page_filter += " AND g.position <= %s"
        page_params.append(int(offset) + int(limit))
    sql = (
        "WITH "
        + ", ".join(ctes)
        # base and calc are read once: left to the planner, the filter on the suggested rows
        # runs inside the join instead of over a stored copy of every candidate level.
        + f", base AS ({base}), calc AS ({calc}), "
        f"listed AS MATERIALIZED ({listed}), grouped AS ({grouped}) "
        "SELECT 'row', g.position, g.level_id, g.supplier_id, g.group_rows, g.group_urgent, "
        f"g.group_value FROM grouped g WHERE {page_filter} "
        "UNION ALL SELECT 'total', COUNT(*), COALESCE(SUM(urgent), 0), NULL, NULL, NULL, NULL "
        "FROM listed ORDER BY 1 DESC, 2"
    )
    params = params + base_params + page_params
    page = ScreenPage()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, position, level_id, group_supplier, rows, urgent, value in cursor.fetchall():
            if kind == "total":
                page.total, page.urgent = int(position), int(level_id)
                continue
            page.level_ids.append(level_id)
            page.supplier_ids.append(group_supplier)
            page.groups[group_supplier] = GroupTotals(
                rows=int(rows),
                urgent=int(urgent),
                value=Decimal(str(value or 0)).quantize(Decimal("0.01")),
            )
    return page
