"""Checks of the documents: order lines and their allocation history, receipts, order
statuses and the stored daily demand."""

from __future__ import annotations

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from common.numbers import document_number
from inventory.models import Product, Warehouse
from orders.models import AllocationKind, DailyDemand, OrderLine, SalesOrder, SalesOrderStatus
from orders.services.demand import COUNTERS, daily_demand_recomputed
from suppliers.models import PurchaseOrderLine

from .base import Discrepancy, count_words, line_subject


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
                    subject=line_subject(row),
                    expected=f"allocated {row['history']} (the sum of its allocation records)",
                    found=f"allocated {row['quantity_allocated']}",
                )
            )
        if row["quantity_shipped"] != -row["shipped_history"]:
            found.append(
                Discrepancy(
                    check="line_allocations",
                    subject=line_subject(row),
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
            subject=line_subject(row),
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
                f"(the sum of its {count_words(row['shipment_count'], 'shipment line')})"
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
