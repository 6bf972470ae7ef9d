"""Reads about stock: the overview per product × warehouse, ledger history and stock over time."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    CharField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    TextField,
)
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from common.audit import HistoryPart, admin_log_rows, audit_rows, text
from inventory.models import Product, SafetyStockChange, StockLevel, StockMovement


def stock_overview(
    *,
    warehouse_id: int | None = None,
    search: str = "",
    below_safety_stock: bool = False,
    has_backorders: bool = False,
    releasable: bool = False,
) -> QuerySet[StockLevel]:
    """Levels annotated with available and projected (from the stored backordered and on-order
    counters); one query for any number of rows."""
    levels = StockLevel.objects.select_related("product", "warehouse").annotate(
        available_qty=ExpressionWrapper(F("on_hand") - F("allocated"), output_field=IntegerField()),
        projected=ExpressionWrapper(
            F("on_hand") + F("on_order") - F("allocated") - F("backordered"),
            output_field=IntegerField(),
        ),
    )
    if warehouse_id:
        levels = levels.filter(warehouse_id=warehouse_id)
    if search:
        term = search.strip()
        levels = levels.filter(Q(product__sku__icontains=term) | Q(product__name__icontains=term))
    if below_safety_stock:
        levels = levels.filter(safety_stock__gt=0, available_qty__lt=F("safety_stock"))
    if has_backorders or releasable:
        levels = levels.filter(backordered__gt=0)
    if releasable:
        levels = levels.filter(available_qty__gt=0)
    return levels.order_by("product__sku", "warehouse__code")


def product_ledger(*, product_id: int, warehouse_id: int | None = None) -> QuerySet[StockMovement]:
    """A product's movements, newest first, with who made them."""
    movements = StockMovement.objects.filter(level__product_id=product_id)
    if warehouse_id:
        movements = movements.filter(level__warehouse_id=warehouse_id)
    return movements.select_related("level__warehouse", "created_by").order_by("-created_at", "-id")


def stock_over_time(
    *, level_id: int, days: int = 90, end: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """On-hand at the end of each day of the window, rebuilt from the ledger's balances."""
    end = end or timezone.localdate()
    start = end - dt.timedelta(days=days - 1)
    tz = timezone.get_current_timezone()
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    before = (
        StockMovement.objects.filter(level_id=level_id, created_at__lt=start_at)
        .order_by("-created_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    balance = before or 0
    closing: dict[dt.date, int] = {}
    for created_at, balance_after in (
        StockMovement.objects.filter(level_id=level_id, created_at__gte=start_at)
        .order_by("created_at", "id")
        .values_list("created_at", "balance_after")
    ):
        closing[timezone.localtime(created_at, tz).date()] = balance_after
    series = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        balance = closing.get(day, balance)
        series.append((day, balance))
    return series


def product_history_parts(*, product_id: int) -> list[HistoryPart]:
    """Stock ledger, safety stock changes and admin changes of a product and its levels."""
    levels = StockLevel.objects.filter(product_id=product_id)
    return [
        audit_rows(
            StockMovement.objects.filter(level__product_id=product_id),
            at="created_at",
            user="created_by__username",
            action="kind",
            quantity="quantity",
            reason="reason",
            detail=Concat(
                F("level__warehouse__code"), text(" "), F("reference"), output_field=TextField()
            ),
        ),
        audit_rows(
            SafetyStockChange.objects.filter(level__product_id=product_id),
            at="changed_at",
            user="changed_by__username",
            action=text("safety_stock"),
            quantity="new_value",
            reason="reason",
            detail=Concat(
                F("level__warehouse__code"),
                text(": "),
                Cast("old_value", CharField()),
                text(" → "),
                Cast("new_value", CharField()),
                output_field=TextField(),
            ),
        ),
        admin_log_rows(
            app_label="inventory", model="product", object_ids=Product.objects.filter(pk=product_id)
        ),
        admin_log_rows(app_label="inventory", model="stocklevel", object_ids=levels),
    ]


def backorders_waiting(*, warehouse_id: int, product_ids: list[int]) -> bool:
    """Whether anyone waits for any of these products at the warehouse, by the levels' stored
    backordered counters (kept by the orders services)."""
    return StockLevel.objects.filter(
        warehouse_id=warehouse_id, product_id__in=product_ids, backordered__gt=0
    ).exists()
