"""Reads about stock: the overview per product × warehouse, ledger history and stock over time."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from .models import StockLevel, StockMovement


def stock_overview(
    *,
    warehouse_id: int | None = None,
    search: str = "",
    below_safety_stock: bool = False,
    has_backorders: bool = False,
    releasable: bool = False,
) -> QuerySet[StockLevel]:
    """Levels annotated with available, backordered, on order and projected; one query for any
    number of rows (the totals are correlated subqueries, not per-row lookups)."""
    from orders.models import OrderLine
    from orders.selectors import backordered_subquery
    from suppliers.selectors import on_order_subquery

    levels = StockLevel.objects.select_related("product", "warehouse").annotate(
        available_qty=ExpressionWrapper(F("on_hand") - F("allocated"), output_field=IntegerField()),
        backordered=backordered_subquery(),
        on_order=on_order_subquery(),
    )
    levels = levels.annotate(
        projected=ExpressionWrapper(
            F("on_hand") + F("on_order") - F("allocated") - F("backordered"),
            output_field=IntegerField(),
        )
    )
    if warehouse_id:
        levels = levels.filter(warehouse_id=warehouse_id)
    if search:
        term = search.strip()
        levels = levels.filter(Q(product__sku__icontains=term) | Q(product__name__icontains=term))
    if below_safety_stock:
        levels = levels.filter(safety_stock__gt=0, available_qty__lt=F("safety_stock"))
    if has_backorders or releasable:
        levels = levels.filter(_has_queue(OrderLine))
    if releasable:
        levels = levels.filter(available_qty__gt=0)
    return levels.order_by("product__sku", "warehouse__code")


def _has_queue(order_line_model) -> Exists:
    """Whether the outer level's product × warehouse has a line waiting.

    An order waits for stock exactly while one of its lines has a backorder (status_for, which
    check_stock verifies), so naming the status changes no answer; it lets PostgreSQL join the
    waiting lines to the waiting orders' small partial index instead of every order."""
    from orders.models import SalesOrderStatus

    return Exists(
        order_line_model.objects.filter(
            quantity_backordered__gt=0,
            product_id=OuterRef("product_id"),
            order__warehouse_id=OuterRef("warehouse_id"),
            order__status=SalesOrderStatus.BACKORDERED,
        )
    )


def attention_summary(*, today: dt.date | None = None) -> dict:
    """What needs attention today, as counts for the home page (a fixed handful of queries)."""
    from orders.models import OrderLine, SalesOrder, SalesOrderStatus
    from suppliers.selectors import inbound_purchase_orders

    today = today or timezone.localdate()
    # Counted on the waiting lines' partial index alone; the oldest comes from the orders, since
    # an order waits for stock exactly while one of its lines has a backorder (status_for), which
    # the (status, placed_at) index answers at once instead of joining every waiting line.
    waiting = {
        "lines": OrderLine.objects.filter(quantity_backordered__gt=0).count(),
        "oldest": SalesOrder.objects.filter(status=SalesOrderStatus.BACKORDERED).aggregate(
            oldest=Min("placed_at")
        )["oldest"],
    }
    levels = StockLevel.objects.annotate(
        free=ExpressionWrapper(F("on_hand") - F("allocated"), output_field=IntegerField())
    )
    # Both counts of inbound orders in one pass over the open orders.
    inbound = (
        inbound_purchase_orders(today=today)
        .order_by()
        .aggregate(
            today=Count("pk", filter=Q(expected_date=today)),
            overdue=Count("pk", filter=Q(expected_date__lt=today)),
        )
    )
    return {
        "backordered_lines": waiting["lines"],
        "oldest_waiting": waiting["oldest"],
        "below_safety_stock": levels.filter(safety_stock__gt=0, free__lt=F("safety_stock")).count(),
        "expected_today": inbound["today"],
        "overdue": inbound["overdue"],
        "ready_to_ship": SalesOrder.objects.filter(status=SalesOrderStatus.READY).count(),
        "releasable": levels.filter(free__gt=0).filter(_has_queue(OrderLine)).count(),
    }


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
