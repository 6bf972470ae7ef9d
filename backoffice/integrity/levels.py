"""Checks of the stock levels: the ledger behind on hand, the bounds, and the counters the
orders and suppliers services keep on each level (allocated, backordered, on order)."""

from __future__ import annotations

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from inventory.models import StockLevel, StockMovement
from orders.models import OrderLine
from planning.plan import plan_differences
from suppliers.selectors import OUTSTANDING, open_po_lines

from .base import LEVEL_FIELDS, Discrepancy, count_words, level_subject


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
            subject=level_subject(row),
            expected=(
                f"on hand {row['ledger']} "
                f"(the sum of its {count_words(row['movement_count'], 'movement')})"
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
            subject=level_subject(row),
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
            subject=level_subject(row),
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
            subject=level_subject(row),
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
            subject=level_subject(row),
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


def level_missing_violations() -> list[Discrepancy]:
    """Every product × warehouse with a waiting line or an open purchase order line has a level,
    so that its stored counters exist to keep (the services create it under the lock)."""
    level = StockLevel.objects.filter(product_id=OuterRef("product_id"))
    waiting = (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .exclude(Exists(level.filter(warehouse_id=OuterRef("order__warehouse_id"))))
        .order_by()
        .values_list("product__sku", "order__warehouse__code")
    )
    incoming = (
        open_po_lines()
        .exclude(Exists(level.filter(warehouse_id=OuterRef("purchase_order__warehouse_id"))))
        .order_by()
        .values_list("product__sku", "purchase_order__warehouse__code")
    )
    # One statement for both sources; the union also drops repeated pairs.
    return [
        Discrepancy(
            check="level_missing",
            subject=f"{sku} @ {code}",
            expected="a stock level (lines wait for it or purchase orders bring it)",
            found="none",
        )
        for sku, code in sorted(waiting.union(incoming).order_by())
    ]


def level_counters_rebuild() -> int:
    """Recount every level's backordered and on order from their sources, creating the levels a
    waiting line or an open purchase order line needs; for data written in bulk (the demo and
    benchmark seeders). Returns the number of levels recounted (changed or not)."""
    # order_by() first: the models' ordering would join the DISTINCT and repeat pairs per line.
    waiting = (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .order_by()
        .values_list("product_id", "order__warehouse_id")
        .distinct()
    )
    incoming = (
        open_po_lines()
        .order_by()
        .values_list("product_id", "purchase_order__warehouse_id")
        .distinct()
    )
    pairs = set(waiting) | set(incoming)
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


def plan_mismatches() -> list[Discrepancy]:
    """The stored reorder plan agrees with its sources: each row's copy of its level's counters,
    and (when the plan is current) every input and every level that needs a row."""
    found = plan_differences()
    if not found:
        return []
    levels = {
        row["pk"]: row
        for row in StockLevel.objects.filter(pk__in={item["level_id"] for item in found}).values(
            "pk", "product__sku", "warehouse__code"
        )
    }
    return [
        Discrepancy(
            check="plan",
            subject=level_subject(levels[item["level_id"]])
            if item["level_id"] in levels
            else f"level {item['level_id']}",
            expected=f"{item['column'].replace('_', ' ')} {item['expected']}",
            found="no plan row"
            if item["found"] is None and item["column"] == "level_id"
            else f"{item['column'].replace('_', ' ')} {item['found']}",
        )
        for item in found
    ]
