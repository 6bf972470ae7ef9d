"""Read-only checks that the stored stock, orders and receipts agree with each other.

`stock_discrepancies()` verifies DESIGN.md rules 1 and 2 on the live database, plus the bookkeeping
those rules rest on: allocation history, receipts and order statuses. Each check is one set-based
query (an aggregate, a join or a correlated subquery served by an index) that returns only the rows
that are wrong, so the cost grows with the size of the tables, never with a query per row; on a
healthy database every check returns nothing.

This module reads the orders and suppliers models directly. That crosses the usual app boundary on
purpose: it is a cross-app consistency check that writes nothing, and it must look at the rows
themselves rather than at the selectors, whose job is to trust them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from common.numbers import document_number
from inventory.models import Product, StockLevel, StockMovement, Warehouse
from orders.models import AllocationKind, DailyDemand, OrderLine, SalesOrder, SalesOrderStatus
from orders.services.demand import COUNTERS, daily_demand_recomputed
from suppliers.models import PurchaseOrderLine
from suppliers.selectors import OUTSTANDING, open_po_lines


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not add up: which check found it, on what, expected versus found."""

    check: str
    subject: str  # "WIDGET-1 @ LON", "SO-000012 WIDGET-1 (line 31)", "PO-000003 WIDGET-1", ...
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.subject}: expected {self.expected}, found {self.found}"


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[], list[Discrepancy]]


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _level_subject(row: dict) -> str:
    return f"{row['product__sku']} @ {row['warehouse__code']}"


def _line_subject(row: dict) -> str:
    return f"{document_number('SO', row['order_id'])} {row['product__sku']} (line {row['pk']})"


LEVEL_FIELDS = ("pk", "product__sku", "warehouse__code", "on_hand", "allocated")


def ledger_sum_mismatches() -> list[Discrepancy]:
    """Rule 1: a level's on_hand equals the sum of its movements."""
    rows = (
        StockLevel.objects.annotate(
            ledger=Coalesce(Sum("movements__quantity"), 0), movement_count=Count("movements")
        )
        .exclude(on_hand=F("ledger"))
        .values(*LEVEL_FIELDS, "ledger", "movement_count")
        .order_by("product__sku", "warehouse__code")
    )
    return [
        Discrepancy(
            check="ledger_sum",
            subject=_level_subject(row),
            expected=(
                f"on hand {row['ledger']} "
                f"(the sum of its {_count(row['movement_count'], 'movement')})"
            ),
            found=f"on hand {row['on_hand']}",
        )
        for row in rows
    ]


def ledger_balance_mismatches() -> list[Discrepancy]:
    """Rule 1: the latest movement's balance_after is the level's on_hand."""
    latest = StockMovement.objects.filter(level=OuterRef("pk")).order_by("-id")
    rows = (
        StockLevel.objects.annotate(last_balance=Subquery(latest.values("balance_after")[:1]))
        # One index probe per level (level, -id). A level without movements compares on_hand with
        # NULL, which is never true: those are ledger_sum's to report.
        .exclude(on_hand=F("last_balance"))
        .annotate(last_movement=Subquery(latest.values("pk")[:1]))
        .values(*LEVEL_FIELDS, "last_balance", "last_movement")
        .order_by("product__sku", "warehouse__code")
    )
    return [
        Discrepancy(
            check="ledger_balance",
            subject=_level_subject(row),
            expected=f"on hand {row['last_balance']} (balance after movement {row['last_movement']})",
            found=f"on hand {row['on_hand']}",
        )
        for row in rows
    ]


def level_bound_violations() -> list[Discrepancy]:
    """Rule 2: 0 ≤ allocated ≤ on_hand (and on_hand itself never negative)."""
    rows = (
        StockLevel.objects.filter(
            Q(allocated__lt=0) | Q(on_hand__lt=0) | Q(allocated__gt=F("on_hand"))
        )
        .values(*LEVEL_FIELDS)
        .order_by("product__sku", "warehouse__code")
    )
    return [
        Discrepancy(
            check="level_bounds",
            subject=_level_subject(row),
            expected="0 ≤ allocated ≤ on hand",
            found=f"allocated {row['allocated']}, on hand {row['on_hand']}",
        )
        for row in rows
    ]


def level_allocation_mismatches() -> list[Discrepancy]:
    """A level's allocated equals what the order lines for its product at its warehouse hold."""
    held = (
        OrderLine.objects.filter(
            product_id=OuterRef("product_id"),
            order__warehouse_id=OuterRef("warehouse_id"),
            quantity_allocated__gt=0,
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity_allocated"))
        .values("total")
    )
    # Only levels with something allocated, on the level or on a line, can disagree; naming them
    # first keeps the per-level sum to the few rows where stock is actually committed.
    committed = (
        Q(allocated__gt=0)
        | Q(allocated__lt=0)
        | Q(product_id__in=OrderLine.objects.filter(quantity_allocated__gt=0).values("product_id"))
    )
    rows = (
        StockLevel.objects.filter(committed)
        .annotate(lines_allocated=Coalesce(Subquery(held, output_field=IntegerField()), 0))
        .exclude(allocated=F("lines_allocated"))
        .values(*LEVEL_FIELDS, "lines_allocated")
        .order_by("product__sku", "warehouse__code")
    )
    return [
        Discrepancy(
            check="level_allocated",
            subject=_level_subject(row),
            expected=f"allocated {row['lines_allocated']} (the sum over its order lines)",
            found=f"allocated {row['allocated']}",
        )
        for row in rows
    ]


def _waiting_units() -> Coalesce:
    """Per outer level: the units waiting on order lines for its product at its warehouse."""
    total = (
        OrderLine.objects.filter(
            product_id=OuterRef("product_id"),
            order__warehouse_id=OuterRef("warehouse_id"),
            quantity_backordered__gt=0,
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity_backordered"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)


def _outstanding_units() -> Coalesce:
    """Per outer level: the units outstanding on open purchase order lines into it."""
    total = (
        open_po_lines()
        .filter(
            product_id=OuterRef("product_id"), purchase_order__warehouse_id=OuterRef("warehouse_id")
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum(OUTSTANDING))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)


def _counter_mismatches(*, counter: str, source: Coalesce, check: str, what: str):
    # Only levels with something counted, stored or at the source, can disagree.
    rows = (
        StockLevel.objects.annotate(recounted=source)
        .exclude(**{counter: F("recounted")})
        .values(*LEVEL_FIELDS, counter, "recounted")
        .order_by("product__sku", "warehouse__code")
    )
    return [
        Discrepancy(
            check=check,
            subject=_level_subject(row),
            expected=f"{counter.replace('_', ' ')} {row['recounted']} ({what})",
            found=f"{counter.replace('_', ' ')} {row[counter]}",
        )
        for row in rows
    ]


def level_backordered_mismatches() -> list[Discrepancy]:
    """A level's stored backordered equals the units waiting on its order lines."""
    return _counter_mismatches(
        counter="backordered",
        source=_waiting_units(),
        check="level_backordered",
        what="the units waiting on its order lines",
    )


def level_on_order_mismatches() -> list[Discrepancy]:
    """A level's stored on order equals the units outstanding on its open purchase order lines."""
    return _counter_mismatches(
        counter="on_order",
        source=_outstanding_units(),
        check="level_on_order",
        what="the units outstanding on its open purchase order lines",
    )


def level_counters_rebuild() -> int:
    """Recount every level's backordered and on order from their sources, creating the levels a
    waiting line or an open purchase order line needs; for data written in bulk (the demo and
    benchmark seeders). Returns the number of levels whose counters changed."""
    pairs = set(
        OrderLine.objects.filter(quantity_backordered__gt=0).values_list(
            "product_id", "order__warehouse_id"
        )
    ) | set(open_po_lines().values_list("product_id", "purchase_order__warehouse_id"))
    StockLevel.objects.bulk_create(
        [StockLevel(product_id=p, warehouse_id=w) for p, w in sorted(pairs)],
        ignore_conflicts=True,
        batch_size=5000,
    )
    stale = Q(backordered__gt=0) | Q(on_order__gt=0) | Q(backordered__lt=0) | Q(on_order__lt=0)
    stale |= Q(
        product_id__in=OrderLine.objects.filter(quantity_backordered__gt=0).values("product_id")
    )
    stale |= Q(product_id__in=open_po_lines().values("product_id"))
    return StockLevel.objects.filter(stale).update(
        backordered=_waiting_units(), on_order=_outstanding_units()
    )


def line_history_mismatches() -> list[Discrepancy]:
    """A line's allocated equals the sum of its Allocation rows, and its shipped quantity the
    units its shipment records took off."""
    rows = (
        OrderLine.objects.annotate(
            history=Coalesce(Sum("allocations__quantity"), 0),
            shipped_history=Coalesce(
                Sum(
                    "allocations__quantity",
                    filter=Q(allocations__kind=AllocationKind.SHIPMENT),
                ),
                0,
            ),
        )
        .filter(
            ~Q(quantity_allocated=F("history"))
            | ~Q(quantity_shipped=-F("shipped_history"))  # shipment rows are negative
        )
        .values(
            "pk",
            "order_id",
            "product__sku",
            "quantity_allocated",
            "quantity_shipped",
            "history",
            "shipped_history",
        )
        .order_by("order_id", "pk")
    )
    found = []
    for row in rows:
        if row["quantity_allocated"] != row["history"]:
            found.append(
                Discrepancy(
                    check="line_allocations",
                    subject=_line_subject(row),
                    expected=f"allocated {row['history']} (the sum of its allocation records)",
                    found=f"allocated {row['quantity_allocated']}",
                )
            )
        if row["quantity_shipped"] != -row["shipped_history"]:
            found.append(
                Discrepancy(
                    check="line_allocations",
                    subject=_line_subject(row),
                    expected=f"shipped {-row['shipped_history']} (taken off by its shipment records)",
                    found=f"shipped {row['quantity_shipped']}",
                )
            )
    return found


def line_bound_violations() -> list[Discrepancy]:
    """Rule 2: allocated + shipped + cancelled ≤ ordered, none of them negative."""
    rows = (
        OrderLine.objects.filter(
            Q(quantity_allocated__lt=0)
            | Q(quantity_shipped__lt=0)
            | Q(quantity_cancelled__lt=0)
            | Q(
                quantity_ordered__lt=F("quantity_allocated")
                + F("quantity_shipped")
                + F("quantity_cancelled")
            )
        )
        .values(
            "pk",
            "order_id",
            "product__sku",
            "quantity_ordered",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
        )
        .order_by("order_id", "pk")
    )
    return [
        Discrepancy(
            check="line_bounds",
            subject=_line_subject(row),
            expected=f"allocated + shipped + cancelled ≤ ordered ({row['quantity_ordered']}), none negative",
            found=(
                f"allocated {row['quantity_allocated']}, shipped {row['quantity_shipped']}, "
                f"cancelled {row['quantity_cancelled']}"
            ),
        )
        for row in rows
    ]


def receipt_mismatches() -> list[Discrepancy]:
    """A purchase order line's received quantity is the sum of the shipment lines against it."""
    rows = (
        PurchaseOrderLine.objects.annotate(
            arrived=Coalesce(Sum("shipment_lines__quantity"), 0),
            shipment_count=Count("shipment_lines"),
        )
        .exclude(quantity_received=F("arrived"))
        .values(
            "pk",
            "purchase_order_id",
            "product__sku",
            "quantity_received",
            "arrived",
            "shipment_count",
        )
        .order_by("purchase_order_id", "pk")
    )
    return [
        Discrepancy(
            check="po_received",
            subject=f"{document_number('PO', row['purchase_order_id'])} {row['product__sku']}",
            expected=(
                f"received {row['arrived']} "
                f"(the sum of its {_count(row['shipment_count'], 'shipment line')})"
            ),
            found=f"received {row['quantity_received']}",
        )
        for row in rows
    ]


def order_status_mismatches() -> list[Discrepancy]:
    """An order's status follows its lines (orders.services.common.status_for): waiting while any
    line has a backorder, else ready while anything is allocated, else shipped if anything went
    out, else cancelled."""
    rows = (
        SalesOrder.objects.annotate(
            waiting_lines=Count("lines", filter=Q(lines__quantity_backordered__gt=0)),
            allocated_lines=Count("lines", filter=Q(lines__quantity_allocated__gt=0)),
            shipped_lines=Count("lines", filter=Q(lines__quantity_shipped__gt=0)),
        )
        .annotate(
            expected_status=Case(
                When(waiting_lines__gt=0, then=Value(SalesOrderStatus.BACKORDERED.value)),
                When(allocated_lines__gt=0, then=Value(SalesOrderStatus.READY.value)),
                When(shipped_lines__gt=0, then=Value(SalesOrderStatus.SHIPPED.value)),
                default=Value(SalesOrderStatus.CANCELLED.value),
                output_field=CharField(),
            )
        )
        .exclude(status=F("expected_status"))
        .values("pk", "status", "expected_status", "waiting_lines", "allocated_lines")
        .order_by("pk")
    )
    return [
        Discrepancy(
            check="order_status",
            subject=document_number("SO", row["pk"]),
            expected=(
                f"status {row['expected_status']} ({row['waiting_lines']} lines waiting, "
                f"{row['allocated_lines']} with stock allocated)"
            ),
            found=f"status {row['status']}",
        )
        for row in rows
    ]


def daily_demand_mismatches() -> list[Discrepancy]:
    """The stored daily demand (orders.DailyDemand, kept by the order services) equals its
    recomputation from the order lines and their placement allocations."""
    keys = ("product_id", "warehouse_id", "day")
    sql, params = daily_demand_recomputed().values_list(*keys, *COUNTERS).query.sql_with_params()
    table = connection.ops.quote_name(DailyDemand._meta.db_table)
    same_key = " AND ".join(f"s.{key} = r.{key}" for key in keys)
    differs = " OR ".join(f"s.{name} <> r.{name}" for name in COUNTERS)
    stored = ", ".join(f"s.{name}" for name in COUNTERS)
    computed = ", ".join(f"r.{name}" for name in COUNTERS)
    nothing = ", ".join("0" for _ in COUNTERS)
    x_columns = [
        *keys,
        *(f"expected_{name}" for name in COUNTERS),
        "present",
        *(f"found_{name}" for name in COUNTERS),
    ]
    products = connection.ops.quote_name(Product._meta.db_table)
    warehouses = connection.ops.quote_name(Warehouse._meta.db_table)
    # Rows recomputed but missing or different, then rows stored that no line explains; named
    # by SKU and warehouse code in the same query.
    query = (
        f"WITH r ({', '.join((*keys, *COUNTERS))}) AS ({sql}), "  # noqa: S608 - model names
        f"x ({', '.join(x_columns)}) AS (SELECT r.product_id, r.warehouse_id, r.day, {computed}, "
        f"CASE WHEN s.id IS NULL THEN 0 ELSE 1 END, {stored} "
        f"FROM r LEFT JOIN {table} s ON {same_key} WHERE s.id IS NULL OR {differs} "
        f"UNION ALL SELECT s.product_id, s.warehouse_id, s.day, {nothing}, 1, {stored} "
        f"FROM {table} s WHERE NOT EXISTS (SELECT 1 FROM r WHERE {same_key})) "
        f"SELECT p.sku, w.code, x.* FROM x JOIN {products} p ON p.id = x.product_id "
        f"JOIN {warehouses} w ON w.id = x.warehouse_id ORDER BY p.sku, w.code, x.day"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    width = len(COUNTERS)

    def counters(values) -> str:
        return ", ".join(
            f"{name.replace('_', ' ')} {value or 0}"
            for name, value in zip(COUNTERS, values, strict=True)
        )

    found = []
    for sku, code, _product, _warehouse, day, *values in rows:
        expected, present, actual = values[:width], values[width], values[width + 1 :]
        found.append(
            Discrepancy(
                check="daily_demand",
                subject=f"{sku} @ {code} on {day}",
                expected=f"{counters(expected)} (from the order lines)",
                found=counters(actual) if present else "no row",
            )
        )
    return found


CHECKS: tuple[Check, ...] = (
    Check("ledger_sum", "on hand equals the sum of the level's movements", ledger_sum_mismatches),
    Check(
        "ledger_balance",
        "the latest movement's balance after equals on hand",
        ledger_balance_mismatches,
    ),
    Check("level_bounds", "0 ≤ allocated ≤ on hand", level_bound_violations),
    Check(
        "level_allocated",
        "a level's allocated equals the sum over its order lines",
        level_allocation_mismatches,
    ),
    Check(
        "line_allocations",
        "a line's allocated and shipped agree with its allocation records",
        line_history_mismatches,
    ),
    Check("line_bounds", "allocated + shipped + cancelled ≤ ordered", line_bound_violations),
    Check(
        "po_received",
        "a purchase order line's received equals its shipment lines",
        receipt_mismatches,
    ),
    Check("order_status", "an order's status agrees with its lines", order_status_mismatches),
    Check(
        "level_backordered",
        "a level's backordered equals the units waiting on its order lines",
        level_backordered_mismatches,
    ),
    Check(
        "level_on_order",
        "a level's on order equals what its open purchase order lines still expect",
        level_on_order_mismatches,
    ),
    Check(
        "daily_demand",
        "the stored daily demand equals its recomputation from the order lines",
        daily_demand_mismatches,
    ),
)


def stock_discrepancies() -> list[Discrepancy]:
    """Everything that breaks rules 1–2 or the bookkeeping behind them; empty when consistent.
    One query per check, whatever the size of the database."""
    return [discrepancy for check in CHECKS for discrepancy in check.run()]
