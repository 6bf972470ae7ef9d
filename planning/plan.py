"""Writing the stored plan (`planning.models.LevelPlan`): one set-based statement per refresh.

A refresh works out, for the levels it covers, their demand sums over the window ending today
and the term their product is bought on — the same reads as `planning.selectors.inputs` — with
the lead-time and review-period demand they give, and writes them in one statement together
with a copy of each level's counters:
- the full refresh (`plan_refresh_all`) empties the table and writes a row for every level that
  can need ordering (demand in the window, customers waiting, a manual reorder point or a safety
  stock set);
- a refresh inside an order service (the levels locked) upserts the rows of the levels it names,
  whatever they hold (a row of zeros screens exactly like no row);
- a refresh without the levels' locks (after a change of terms, a delivery, a product or a
  warehouse) updates only the inputs of the rows there are.

The copy of the counters stays right because nothing can change them while a refresh copies
them, and a trigger (migration 0002) copies every later change onto the level's plan row. A
refresh that writes the copy runs with the levels locked: the targeted one inside the order
service that holds their row locks, the full one with the stock levels table locked in SHARE ROW
EXCLUSIVE mode on PostgreSQL for its few seconds (stock writes wait for it, reads do not, and two
full refreshes take turns); the refreshes without those locks write inputs only.
No deadlock: on PostgreSQL every statement that writes plan rows holds the stock levels table's
ROW EXCLUSIVE lock before it touches one (a stock write through the trigger; a targeted refresh
takes it with an empty UPDATE in its own statement), and the full refresh takes its table lock
before it touches one, so a full refresh and any writer meet at the table lock in one order.
"""

# The SQL below is assembled from constants, table names and column names; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inventory.models import Product, StockLevel, Warehouse
from planning.formulas import NOISE
from planning.models import LevelPlan, PlanRefresh
from planning.sql import (
    Query,
    as_float,
    fence,
    greatest,
    levels_ctes,
    table,
)
from planning.window import demand_window
from suppliers.models import SupplierProduct

COLUMNS = (
    "level_id",
    "as_of",
    "product_id",
    "warehouse_id",
    "on_hand",
    "allocated",
    "backordered",
    "on_order",
    "safety_stock",
    "reorder_point",
    "demand_units",
    "demand_squares",
    "demand_days",
    "daily_mean",
    "daily_variance",
    "term_id",
    "supplier_id",
    "lead_time_days",
    "pack_size",
    "min_order_qty",
    "unit_cost",
    "lead_demand",
    "review_demand",
    "is_active",
)

# What a refresh without the levels' locks writes: everything but the copy of the counters.
MIRRORED = ("product_id", "warehouse_id", "on_hand", "allocated", "backordered", "on_order",
            "safety_stock", "reorder_point")  # fmt: skip
INPUT_COLUMNS = tuple(name for name in COLUMNS[1:] if name not in MIRRORED)
# Columns computed in floating point, compared with a tolerance by the check.
FLOAT_COLUMNS = ("daily_mean", "daily_variance")


def whole(expression: str) -> str:
    """`formulas.whole_units` in SQL: rounded up to a whole unit, 10⁻⁹ above one being noise."""
    return f"CAST({greatest(f'CEILING({expression} - {NOISE!r})', '0')} AS BIGINT)"


def settings_key() -> str:
    """The planning settings a plan was computed with (the service level is not one: the plan
    holds no computed safety stock)."""
    return (
        f"review={int(settings.BACKSTOCK_REVIEW_PERIOD_DAYS)};"
        f"window={int(settings.BACKSTOCK_DEMAND_WINDOW_DAYS)}"
    )


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _figures(
    *,
    today: dt.date,
    targeted: bool,
    level_ids: list[int] | None = None,
    product_ids: list[int] | None = None,
    warehouse_id: int | None = None,
    with_planned: bool = False,
) -> tuple[Query, str]:
    """The common table expressions ending in `figures` (one row per level covered, every column
    of COLUMNS but as_of under its own name, with the reorder point's inputs) and the SELECT
    list of a plan row from them (alias f; as_of is a parameter). `with_planned` adds the levels
    that have a plan row to a full refresh's candidates (what the check compares)."""
    start, end, window_days = demand_window(today)
    n = float(window_days)
    query = Query()
    levels_ctes(
        query,
        start=start,
        end=end,
        warehouse_id=warehouse_id,
        level_ids=level_ids,
        product_ids=product_ids,
        candidates_only=not targeted,
        also_candidates=f"lv.id IN (SELECT level_id FROM {table(LevelPlan)})"
        if with_planned
        else "",
    )
    s1, s2 = as_float("c.s1"), as_float("c.s2")
    var_d = (
        f"CASE WHEN {n!r} >= 2 THEN {greatest(f'({s2} - {s1} * {s1} / {n!r}) / ({n!r} - 1)', '0.0')} "
        "ELSE 0.0 END"
    )
    # Each input once, in a fenced step, then the demands from them.
    query.cte(
        "figures AS (SELECT c.level_id, c.product_id, c.warehouse_id, c.on_hand, c.allocated, "
        "c.backordered, c.on_order, c.safety_stock, c.reorder_point, "
        "c.s1, c.s2, c.k, c.term_id, c.supplier_id, "
        "c.lead_time_days, c.pack_size, c.min_order_qty, c.unit_cost, "
        f"{s1} / {n!r} AS d, {var_d} AS var_d, "
        "CASE WHEN p.is_active AND wh.is_active THEN 1 ELSE 0 END AS active "
        f"FROM chosen c JOIN {table(Product)} p ON p.id = c.product_id "
        f"JOIN {table(Warehouse)} wh ON wh.id = c.warehouse_id{fence()})"
    )
    review_days = int(settings.BACKSTOCK_REVIEW_PERIOD_DAYS)
    cast = "::date" if _postgres() else ""
    select = (
        f"f.level_id, %s{cast}, f.product_id, f.warehouse_id, f.on_hand, f.allocated, "
        "f.backordered, f.on_order, f.safety_stock, f.reorder_point, "
        "f.s1, f.s2, f.k, f.d, f.var_d, f.term_id, f.supplier_id, "
        "f.lead_time_days, f.pack_size, f.min_order_qty, f.unit_cost, "
        f"{whole('f.d * COALESCE(f.lead_time_days, 0)')}, {whole(f'f.d * {review_days}')}, "
        "f.active = 1"
    )
    return query, select


def _upsert(
    *,
    today: dt.date,
    targeted: bool,
    inputs_only: bool = False,
    level_ids: list[int] | None = None,
    product_ids: list[int] | None = None,
    warehouse_id: int | None = None,
) -> int:
    query, select = _figures(
        today=today,
        targeted=targeted,
        level_ids=level_ids,
        product_ids=product_ids,
        warehouse_id=warehouse_id,
    )
    plan = table(LevelPlan)
    as_of = connection.ops.adapt_datefield_value(today)
    quote = connection.ops.quote_name
    if targeted and _postgres():
        # Writes nothing, but takes the stock levels table's ROW EXCLUSIVE lock before any plan
        # row is touched, as every stock write does: a full refresh (which holds that table in
        # SHARE ROW EXCLUSIVE mode before it touches the plan) and this statement then always
        # meet in the same order.
        query.cte(
            f"levels_gate AS (UPDATE {table(StockLevel)} SET id = id WHERE 1 = 0 RETURNING id)"
        )
    if inputs_only:
        # Only rows that are there, only their inputs: the copy of the counters is the
        # trigger's, and a row is never added without the levels' locks.
        columns = ", ".join(f"i{index}" for index in range(len(COLUMNS)))
        query.cte(f"fresh ({columns}) AS (SELECT {select} FROM figures f)", as_of)
        updates = ", ".join(f"{quote(name)} = x.i{COLUMNS.index(name)}" for name in INPUT_COLUMNS)
        sql, params = query.sql(
            f"UPDATE {plan} SET {updates} FROM fresh x WHERE {plan}.level_id = x.i0"
        )
    else:
        names = ", ".join(quote(name) for name in COLUMNS)
        conflict = ""
        if targeted:
            updates = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in COLUMNS[1:])
            conflict = f" ON CONFLICT (level_id) DO UPDATE SET {updates}"
        sql, params = query.sql(
            f"INSERT INTO {plan} ({names}) SELECT {select} "
            f"FROM figures f WHERE 1 = 1 ORDER BY f.level_id{conflict}",
            as_of,
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def plan_differences() -> list[dict]:
    """Plan rows that differ from what a refresh would write now (read only; what check_stock
    reports): a row's copy of its level's counters always; and, when the plan is current (for
    today and the settings), every input of every row and every level that needs a row but has
    none. Each item names the level, the column and both values. One query."""
    today = timezone.localdate()
    plan = table(LevelPlan)
    query, select = _figures(today=today, targeted=False, with_planned=True)
    columns = ", ".join(f"e{index}" for index in range(len(COLUMNS)))
    query.cte(
        f"expected ({columns}) AS (SELECT {select} FROM figures f)",
        connection.ops.adapt_datefield_value(today),
    )
    refresh = connection.ops.quote_name(PlanRefresh._meta.db_table)
    query.cte(
        f"current AS (SELECT 1 AS yes FROM {refresh} WHERE id = 1 AND day = %s "
        "AND settings_key = %s)",
        connection.ops.adapt_datefield_value(today),
        settings_key(),
    )

    def differs(expected: str, stored: str, name: str) -> str:
        if name in FLOAT_COLUMNS:
            return f"ABS({expected} - {stored}) > 1e-6 * (1 + ABS({expected}))"
        return f"NOT ({expected} = {stored} OR ({expected} IS NULL AND {stored} IS NULL))"

    def row(level: str, name: str, expected: str, stored: str, source: str, where: str) -> str:
        return (
            f"SELECT {level} AS level_id, '{name}' AS col, CAST({expected} AS TEXT), "
            f"CAST({stored} AS TEXT) FROM {source} WHERE {where}"
        )

    parts = [
        row(
            "lv.id",
            name,
            f"lv.{name}",
            f"pl.{name}",
            f"{plan} pl JOIN {table(StockLevel)} lv ON lv.id = pl.level_id",
            differs(f"lv.{name}", f"pl.{name}", name),
        )
        for name in MIRRORED
    ]
    compared = f"expected e LEFT JOIN {plan} pl ON pl.level_id = e.e0"
    parts.append(
        row(
            "e.e0",
            "level_id",
            "e.e0",
            "pl.level_id",
            compared,
            "pl.level_id IS NULL AND EXISTS (SELECT 1 FROM current)",
        )
    )
    parts += [
        row(
            "e.e0",
            name,
            f"e.e{COLUMNS.index(name)}",
            f"pl.{name}",
            compared,
            "EXISTS (SELECT 1 FROM current) AND pl.level_id IS NOT NULL AND "
            + differs(f"e.e{COLUMNS.index(name)}", f"pl.{name}", name),
        )
        for name in INPUT_COLUMNS
        if name != "as_of"
    ]
    sql, params = query.sql(" UNION ALL ".join(parts) + " ORDER BY 1, 2")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {"level_id": level_id, "column": column, "expected": expected, "found": found}
            for level_id, column, expected, found in cursor.fetchall()
        ]


def _ids(values: Iterable[int] | None) -> list[int] | None:
    return None if values is None else sorted({int(value) for value in values})


def plan_refresh(
    *,
    level_ids: Iterable[int] | None = None,
    product_ids: Iterable[int] | None = None,
    warehouse_id: int | None = None,
    supplier_ids: Iterable[int] | None = None,
    levels_locked: bool = False,
    today: dt.date | None = None,
) -> int:
    """Rewrite the plan of the levels named — by id, by product (in one warehouse or all), or by
    the products a supplier has terms for or is the chosen supplier of — in the caller's
    transaction, in one statement (after two look-ups with `supplier_ids`). When the caller
    holds the levels' row locks (`levels_locked`, as the order services do) every column is
    written, a row added where there was none; otherwise only the plan's inputs of the rows
    there are (their copy of the counters is the trigger's to keep). Returns the rows written."""
    today = today or timezone.localdate()
    levels, products = _ids(level_ids), _ids(product_ids)
    if supplier_ids is not None:
        suppliers = _ids(supplier_ids)
        if not suppliers:
            return 0
        products = sorted(
            set(products or ())
            | set(
                SupplierProduct.objects.filter(supplier_id__in=suppliers).values_list(
                    "product_id", flat=True
                )
            )
            | set(
                LevelPlan.objects.filter(supplier_id__in=suppliers).values_list(
                    "level__product_id", flat=True
                )
            )
        )
    if (levels is not None and not levels) or (products is not None and not products):
        return 0
    if levels is None and products is None and not warehouse_id:
        raise ValueError("plan_refresh names levels, products, suppliers or a warehouse")
    return _upsert(
        today=today,
        targeted=True,
        inputs_only=not levels_locked,
        level_ids=levels,
        product_ids=products,
        warehouse_id=warehouse_id,
    )


def plan_refresh_all(*, today: dt.date | None = None, unless_current: bool = False) -> PlanRefresh:
    """Rewrite the plan for the window ending `today`: a row for every level that can need
    ordering, and no other; records the refresh. Its own transaction. With `unless_current`,
    nothing is rewritten when, once the lock is held, the plan turns out to be current (another
    request refreshed it while this one waited)."""
    today = today or timezone.localdate()
    started = time.perf_counter()
    with transaction.atomic():
        if _postgres():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table(StockLevel)} IN SHARE ROW EXCLUSIVE MODE")
        if unless_current:
            current = PlanRefresh.objects.filter(pk=1, day=today, settings_key=settings_key())
            if record := current.first():
                return record
        LevelPlan.objects.all().delete()
        _upsert(today=today, targeted=False)
        written = LevelPlan.objects.count()
        record, _created = PlanRefresh.objects.update_or_create(
            pk=1,
            defaults={
                "day": today,
                "finished_at": timezone.now(),
                "seconds": time.perf_counter() - started,
                "levels": written,
                "settings_key": settings_key(),
            },
        )
    return record


def plan_invalidate() -> None:
    """Forget the last full refresh, so the next read of the plan refreshes every level first
    (after a bulk load or rebuild that bypassed the services)."""
    PlanRefresh.objects.filter(pk=1).delete()


def plan_current(*, today: dt.date | None = None) -> None:
    """Make sure the plan is for the window ending `today`: refresh every level when the last
    full refresh was for another day (once a day, or after `plan_invalidate`)."""
    today = today or timezone.localdate()
    if not PlanRefresh.objects.filter(pk=1, day=today, settings_key=settings_key()).exists():
        plan_refresh_all(today=today, unless_current=True)
