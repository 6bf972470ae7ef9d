"""Pieces of the planning SQL that PostgreSQL and SQLite both run: a query assembled from common
table expressions with their parameters in order, the expressions the two write differently, and
`levels_ctes`, the read of what each level brings to its plan (used by the plan's refresh and by
the inputs of chosen levels)."""

# The SQL below is assembled from constants, table names and column names; every value is a
# query parameter, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt

from django.db import connection

from inventory.models import StockLevel
from orders.models import DailyDemand
from suppliers.models import Supplier, SupplierProduct


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def as_float(expression: str) -> str:
    # PostgreSQL sums integers as numeric, whose arithmetic and square roots are exact and slow;
    # SQLite divides integers as integers.
    return f"CAST({expression} AS DOUBLE PRECISION)"


def as_wide(expression: str) -> str:
    """An integer in a type whose products and sums cannot overflow: a day's demand may pass 3·10⁹
    units, and its square then passes even 64 bits. PostgreSQL keeps it exact as numeric; SQLite
    has no wider integer, and raises on a SUM of integers that overflows, so it gets a float."""
    kind = "NUMERIC" if connection.vendor == "postgresql" else "REAL"
    return f"CAST({expression} AS {kind})"


def fence() -> str:
    """Keeps a subquery planned on its own (neither merged into the query around it nor written
    out to a temporary store), so its rows are filtered, and its columns computed, once."""
    return " OFFSET 0" if connection.vendor == "postgresql" else " LIMIT -1 OFFSET 0"


def greatest(a: str, b: str) -> str:
    return f"(CASE WHEN {a} > {b} THEN {a} ELSE {b} END)"


def days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


class Query:
    """Assembles the pass: common table expressions in order, with their parameters in order."""

    def __init__(self):
        self.ctes: list[str] = []
        self.params: list = []

    def cte(self, text: str, *params) -> None:
        self.ctes.append(text)
        self.params.extend(params)

    def sql(self, select: str, *params) -> tuple[str, list]:
        return "WITH " + ",\n".join(self.ctes) + "\n" + select, [*self.params, *params]


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
    product_ids: list[int] | None = None,
    also_candidates: str = "",
) -> None:
    """`chosen`: the levels examined, each with its demand sums and its chosen term's numbers.
    `level_ids` or `product_ids` narrow it to those levels or products (their days and terms
    only, not the catalogue's); `also_candidates` is an SQL condition on `lv` that makes a level
    a candidate too."""
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
    term_where, term_params = "", []
    if product_ids is not None:
        marks = ", ".join(["%s"] * len(product_ids))
        days.append(f"product_id IN ({marks})")
        day_params.extend(product_ids)
        level_where.append(f"lv.product_id IN ({marks})")
        level_params.extend(product_ids)
        term_where, term_params = f" AND sp.product_id IN ({marks})", list(product_ids)
    elif level_ids is not None:
        marks = ", ".join(["%s"] * len(level_ids))
        term_where = (
            f" AND sp.product_id IN (SELECT product_id FROM {levels} WHERE id IN ({marks}))"
        )
        term_params = list(level_ids)
    query.cte(
        "demand (product_id, warehouse_id, s1, s2, k) AS ("
        "SELECT product_id, warehouse_id, SUM(units_ordered - units_cancelled), "
        f"SUM({as_wide('units_ordered - units_cancelled')} * (units_ordered - units_cancelled)), "
        "SUM(CASE WHEN units_ordered > units_cancelled THEN 1 ELSE 0 END) "
        f"FROM {table(DailyDemand)} WHERE {' AND '.join(days)} "
        "GROUP BY product_id, warehouse_id)",
        *day_params,
    )
    query.cte(
        "preferred (product_id, term_id, supplier_id, lead_time_days, pack_size, min_order_qty, "
        "unit_cost) AS ("
        "SELECT sp.product_id, sp.id, sp.supplier_id, sp.lead_time_days, sp.pack_size, "
        f"sp.min_order_qty, sp.unit_cost FROM {terms} sp "
        f"JOIN {suppliers} s ON s.id = sp.supplier_id WHERE sp.is_preferred AND s.is_active"
        f"{term_where})",
        *term_params,
    )
    fallback = (
        f"(SELECT sp.id FROM {terms} sp JOIN {suppliers} s ON s.id = sp.supplier_id "
        "WHERE sp.product_id = lv.product_id AND s.is_active "
        "ORDER BY sp.lead_time_days, sp.unit_cost, s.name LIMIT 1)"
    )
    if candidates_only:
        level_where.insert(
            0,
            "(dm.product_id IS NOT NULL OR lv.backordered > 0 OR lv.reorder_point IS NOT NULL "
            "OR lv.safety_stock > 0" + (f" OR {also_candidates}" if also_candidates else "") + ")",
        )
    where = f"WHERE {' AND '.join(level_where)}" if level_where else ""
    # Fenced: the planner cannot tell how few levels have demand, and would otherwise join every
    # level to its term before dropping the ones without.
    query.cte(
        "candidates AS ("
        "SELECT lv.id AS level_id, lv.product_id, lv.warehouse_id, lv.on_hand, lv.allocated, "
        "lv.backordered, lv.on_order, lv.safety_stock, lv.reorder_point, "
        "COALESCE(dm.s1, 0) AS s1, COALESCE(dm.s2, 0) AS s2, COALESCE(dm.k, 0) AS k "
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
        "l.backordered, l.on_order, l.safety_stock, l.reorder_point, l.s1, l.s2, l.k, "
        f"COALESCE(l.preferred_id, l.fallback_id) AS term_id, {chosen} FROM levels l)"
    )
