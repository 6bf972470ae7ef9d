"""The reorder dashboard's KPIs and chart series, each a fixed handful of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ..models import StockLevel
from .suggestions import day_start, demand_window

FILL_RATE_DAYS = 30
CENTS = Decimal("0.01")

# Hover text for each KPI: what is counted, exactly.
KPI_DEFINITIONS = {
    "backorder_lines": "Order lines with units still waiting for stock (neither allocated nor shipped).",
    "backorder_units": "Units on those lines that are neither allocated nor shipped.",
    "backorder_value": "Waiting units × the unit cost of the supplier each product is bought from "
    "(its preferred supplier); 0 for products without a supplier.",
    "aging": "Waiting lines and units by how many days ago their order was placed.",
    "fill_rate": "Share of order lines placed in the last 30 days that were fully allocated the "
    "moment they were placed.",
    "below_safety_stock": "Stock levels with a safety stock set whose available stock "
    "(on hand − allocated) is below it.",
    "stockouts": "Stock levels with nothing available that had demand in the demand window.",
    "on_time_rate": "Share of purchase orders, all suppliers together, whose first shipment "
    "arrived on or before the expected date.",
}


def _unit_cost_subquery() -> Coalesce:
    """The unit cost of the term a product is bought on, chosen as the suggestions choose it
    (preferred first, then quickest, then cheapest; active suppliers only); 0 when none."""
    from suppliers.models import SupplierProduct

    cost = (
        SupplierProduct.objects.filter(product_id=OuterRef("product_id"), supplier__is_active=True)
        .order_by("-is_preferred", "lead_time_days", "unit_cost", "supplier__name")
        .values("unit_cost")[:1]
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(cost, output_field=money), Value(0), output_field=money)


def _aging_buckets() -> tuple[tuple[str, str, int, int | None], ...]:
    from orders.filters import AGE_BUCKETS

    return AGE_BUCKETS


def reorder_kpis(*, today: dt.date | None = None) -> dict:
    """Backorder lines, units, value and aging; fill rate; levels below safety stock; stockouts;
    suppliers' on-time rate — five queries whatever the data."""
    from orders.filters import age_q
    from orders.models import Allocation, AllocationKind, OrderLine
    from suppliers.selectors import supplier_lead_times

    today = today or timezone.localdate()
    money = DecimalField(max_digits=20, decimal_places=2)

    # 1: the open backorder, its value and its age buckets, in one aggregate.
    buckets = _aging_buckets()
    aggregates = {
        "lines": Count("id"),
        "units": Coalesce(Sum("quantity_backordered"), 0),
        "value": Coalesce(
            Sum(
                ExpressionWrapper(
                    F("quantity_backordered") * _unit_cost_subquery(), output_field=money
                )
            ),
            Value(0),
            output_field=money,
        ),
    }
    for key, _label, low, high in buckets:
        condition = age_q("order__placed_at", low, high, today)
        aggregates[f"lines_{key}"] = Count("id", filter=condition)
        aggregates[f"units_{key}"] = Coalesce(Sum("quantity_backordered", filter=condition), 0)
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0).aggregate(**aggregates)

    # 2: fill rate over lines placed in the last 30 days (today included).
    since = day_start(today - dt.timedelta(days=FILL_RATE_DAYS - 1))
    until = day_start(today + dt.timedelta(days=1))
    filled_at_placement = Exists(
        Allocation.objects.filter(
            line_id=OuterRef("pk"),
            kind=AllocationKind.PLACEMENT,
            quantity=OuterRef("quantity_ordered"),
        )
    )
    placed = OrderLine.objects.filter(
        order__placed_at__gte=since, order__placed_at__lt=until
    ).aggregate(lines=Count("id"), filled=Count("id", filter=filled_at_placement))

    # 3: levels below safety stock and stockouts with demand in the window.
    start, end, _days = demand_window(today)
    had_demand = Exists(
        OrderLine.objects.filter(
            product_id=OuterRef("product_id"),
            order__warehouse_id=OuterRef("warehouse_id"),
            order__placed_at__gte=day_start(start),
            order__placed_at__lt=day_start(end + dt.timedelta(days=1)),
            quantity_ordered__gt=F("quantity_cancelled"),
        )
    )
    levels = (
        StockLevel.objects.annotate(
            free=ExpressionWrapper(F("on_hand") - F("allocated"), output_field=IntegerField())
        )
        .order_by()
        .aggregate(
            below=Count("id", filter=Q(safety_stock__gt=0, free__lt=F("safety_stock"))),
            stockouts=Count("id", filter=Q(free=0) & Q(had_demand)),
        )
    )

    # 4–5: purchase orders' first deliveries against their expected dates.
    lead_times = supplier_lead_times().values()
    deliveries = sum(s.samples for s in lead_times)
    on_time = sum(s.on_time for s in lead_times)

    return {
        "backorder_lines": waiting["lines"],
        "backorder_units": waiting["units"],
        # SQLite returns sums of decimals with stray digits; money has two.
        "backorder_value": Decimal(waiting["value"]).quantize(CENTS),
        "aging": [
            {
                "key": key,
                "label": label,
                "lines": waiting[f"lines_{key}"],
                "units": waiting[f"units_{key}"],
            }
            for key, label, _low, _high in buckets
        ],
        "fill_rate": placed["filled"] / placed["lines"] if placed["lines"] else None,
        "fill_rate_lines": placed["lines"],
        "fill_rate_filled": placed["filled"],
        "below_safety_stock": levels["below"],
        "stockouts": levels["stockouts"],
        "on_time_rate": on_time / deliveries if deliveries else None,
        "on_time_deliveries": on_time,
        "deliveries": deliveries,
        "definitions": KPI_DEFINITIONS,
    }


def backordered_units_history(
    *, days: int = 90, today: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """Units backordered at the end of each day of the window, rebuilt backwards from today's
    backorder (four queries).

    A line's backorder is ordered − allocated − shipped − cancelled. Shipping only moves allocated
    units to shipped, so the backorder changes at three kinds of event only:
    - placement: it grows by what the line did not get at once (ordered − its placement
      allocation), on the day the order was placed;
    - release: it shrinks by the released quantity, when the release row was written;
    - cancellation: it shrinks by the cancelled part that was waiting — the line's cancelled
      quantity minus the allocation its cancellation row freed — at that row's time, or the
      order's cancellation time when nothing allocated was freed. A line cancelled on its own
      with nothing allocated leaves no time at all; it is counted as never having waited.
    Starting from today's total and undoing each day's events from the newest gives the total at
    the end of every earlier day.
    """
    from orders.models import Allocation, AllocationKind, OrderLine

    end = today or timezone.localdate()
    start = end - dt.timedelta(days=max(1, days) - 1)
    start_at = day_start(start)
    tz = timezone.get_current_timezone()

    # 1: the backorder now.
    current = OrderLine.objects.filter(quantity_backordered__gt=0).aggregate(
        units=Coalesce(Sum("quantity_backordered"), 0)
    )["units"]

    change: dict[dt.date, int] = defaultdict(int)

    # 2: backorders created by placement, per day the order was placed.
    at_placement = (
        Allocation.objects.filter(line_id=OuterRef("pk"), kind=AllocationKind.PLACEMENT)
        .order_by()
        .values("line_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    placed = (
        OrderLine.objects.filter(order__placed_at__gte=start_at)
        .annotate(day=TruncDate("order__placed_at", tzinfo=tz))
        .values("day")
        .annotate(
            units=Sum(
                F("quantity_ordered")
                - Coalesce(Subquery(at_placement, output_field=IntegerField()), 0)
            )
        )
        .order_by()
        .values_list("day", "units")
    )
    for day, units in placed:
        change[day] += units or 0

    # 3: releases, per day they were written.
    released = (
        Allocation.objects.filter(kind=AllocationKind.RELEASE, created_at__gte=start_at)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(units=Sum("quantity"))
        .order_by()
        .values_list("day", "units")
    )
    for day, units in released:
        change[day] -= units or 0

    # 4: waiting units cancelled, per line (the time needs the line's own rows).
    cancel_rows = Allocation.objects.filter(
        line_id=OuterRef("pk"), kind=AllocationKind.CANCELLATION
    ).order_by()
    freed = cancel_rows.values("line_id").annotate(total=Sum("quantity")).values("total")
    freed_at = cancel_rows.values("line_id").annotate(at=Max("created_at")).values("at")
    cancelled = (
        OrderLine.objects.filter(quantity_cancelled__gt=0)
        .annotate(
            freed=Coalesce(Subquery(freed, output_field=IntegerField()), 0),
            freed_at=Subquery(freed_at),
        )
        .filter(
            Q(freed_at__gte=start_at)
            | Q(order__cancelled_at__gte=start_at)
            | Q(order__placed_at__gte=start_at)
        )
        .values_list(
            "quantity_cancelled", "freed", "freed_at", "order__cancelled_at", "order__placed_at"
        )
    )
    for quantity_cancelled, freed_units, freed_time, order_cancelled_at, placed_at in cancelled:
        waiting_cancelled = quantity_cancelled + freed_units  # cancellation rows are negative
        when = freed_time or order_cancelled_at or placed_at
        if waiting_cancelled > 0 and when >= start_at:
            change[timezone.localtime(when, tz).date()] -= waiting_cancelled

    # Undo the events after each day, newest first.
    level = current - sum(units for day, units in change.items() if day > end)
    series = []
    day = end
    while day >= start:
        series.append((day, max(0, level)))
        level -= change.get(day, 0)
        day -= dt.timedelta(days=1)
    series.reverse()
    return series


def supplier_lead_time_chart() -> list[tuple[str, float | None, float | None]]:
    """(supplier, promised days, measured mean days or None) for each supplier with terms or
    deliveries, by name — two queries."""
    from suppliers.selectors import supplier_lead_times

    stats = sorted(supplier_lead_times().values(), key=lambda s: s.supplier_name.casefold())
    return [
        (s.supplier_name, s.promised_days, s.measured_mean)
        for s in stats
        if s.promised_days is not None or s.samples
    ]
