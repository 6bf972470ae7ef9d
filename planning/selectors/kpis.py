"""The reorder dashboard's KPIs and chart series, each a fixed handful of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from inventory.models import StockLevel
from orders.filters import AGE_BUCKETS, age_q
from orders.models import (
    Allocation,
    AllocationKind,
    DailyDemand,
    OrderLine,
    SalesOrderStatus,
)
from planning.selectors.screen import CatalogueTotals, screen_page
from planning.window import day_start
from suppliers.models import PurchaseOrder
from suppliers.selectors import supplier_lead_times

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


def reorder_kpis(*, today: dt.date | None = None, catalogue: CatalogueTotals | None = None) -> dict:
    """Backorder lines, units, value and aging; fill rate; levels below safety stock; stockouts;
    suppliers' on-time rate — one query, plus the screen's pass for the stockouts and the
    backorder's value unless the caller has them from its own pass (`catalogue`)."""
    today = today or timezone.localdate()
    if catalogue is None:
        catalogue = screen_page(limit=0, catalogue=True, today=today).catalogue

    # 1: the open backorder and its age buckets, in one aggregate. An order waits exactly while
    # one of its lines waits (as `orders.selectors.backorder_lines` relies on; check_stock
    # verifies it): naming the status drops no line and lets PostgreSQL read the waiting orders
    # from their partial index instead of hashing every order.
    waiting_lines = OrderLine.objects.filter(
        quantity_backordered__gt=0, order__status=SalesOrderStatus.BACKORDERED
    )
    aggregates = {
        "lines": Count("id"),
        "units": Coalesce(Sum("quantity_backordered"), 0),
    }
    for key, _label, low, high in AGE_BUCKETS:
        condition = age_q("order__placed_at", low, high, today)
        aggregates[f"lines_{key}"] = Count("id", filter=condition)
        aggregates[f"units_{key}"] = Coalesce(Sum("quantity_backordered", filter=condition), 0)
    waiting = waiting_lines.annotate(one=Value(1)).values("one").annotate(**aggregates)
    waiting = waiting.values(*aggregates)

    # 2: fill rate over lines placed in the last 30 days (today included), from the stored
    # daily demand (lines, and lines that got everything when placed, per level and day).
    placed = (
        DailyDemand.objects.filter(
            day__gte=today - dt.timedelta(days=FILL_RATE_DAYS - 1), day__lte=today
        )
        .annotate(one=Value(1))
        .values("one")
        .annotate(
            placed_lines=Coalesce(Sum("lines"), 0), placed_filled=Coalesce(Sum("lines_filled"), 0)
        )
        .values("placed_lines", "placed_filled")
    )

    # 3: levels below safety stock, read from their partial index (levels with a safety stock).
    levels = (
        StockLevel.objects.filter(
            safety_stock__gt=0, on_hand__lt=F("allocated") + F("safety_stock")
        )
        .annotate(one=Value(1))
        .values("one")
        .annotate(below=Count("id"))
        .values("below")
    )

    # 4: purchase orders' first deliveries against their expected dates.
    tz = timezone.get_current_timezone()
    first = (
        PurchaseOrder.objects.filter(sent_at__isnull=False, shipments__isnull=False)
        .values("id", "expected_date")
        .annotate(first_day=TruncDate(Min("shipments__received_at"), tzinfo=tz))
        .order_by()
        .values_list("first_day", "expected_date")
    )
    first_sql, first_params = first.query.sql_with_params()
    # Built from the ORM's compiled SQL; the values are parameters.
    deliveries = (
        "SELECT COUNT(*) AS deliveries, COALESCE(SUM(CASE WHEN f.first_day <= f.expected_date "  # noqa: S608
        f"THEN 1 ELSE 0 END), 0) AS on_time FROM ({first_sql}) AS f"
    )

    # One query: the one-row aggregates side by side. An aggregate over no rows still gives
    # one row, so the cross join never comes back empty.
    parts, params = [], []
    for index, queryset in enumerate((waiting, placed, levels)):
        sql, part_params = queryset.order_by().query.sql_with_params()
        parts.append(f"({sql}) AS k{index}")
        params.extend(part_params)
    parts.append(f"({deliveries}) AS k3")
    params.extend(first_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM " + " CROSS JOIN ".join(parts), params)  # noqa: S608
        names = [column[0] for column in cursor.description]
        values = dict(zip(names, cursor.fetchone(), strict=True))
    # PostgreSQL sums 64-bit columns as numeric, and a raw cursor skips the ORM's converters.
    placed_lines, placed_filled = int(values["placed_lines"]), int(values["placed_filled"])
    deliveries, on_time = int(values["deliveries"]), int(values["on_time"])

    return {
        "backorder_lines": values["lines"],
        "backorder_units": int(values["units"]),
        "backorder_value": catalogue.backorder_value.quantize(CENTS),
        "aging": [
            {
                "key": key,
                "label": label,
                "lines": values[f"lines_{key}"],
                "units": int(values[f"units_{key}"]),
            }
            for key, label, _low, _high in AGE_BUCKETS
        ],
        "fill_rate": placed_filled / placed_lines if placed_lines else None,
        "fill_rate_lines": placed_lines,
        "fill_rate_filled": placed_filled,
        "below_safety_stock": values["below"],
        "stockouts": catalogue.stockouts,
        "on_time_rate": on_time / deliveries if deliveries else None,
        "on_time_deliveries": on_time,
        "deliveries": deliveries,
        "definitions": KPI_DEFINITIONS,
    }


def backordered_units_history(
    *, days: int = 90, today: dt.date | None = None, current: int | None = None
) -> list[tuple[dt.date, int]]:
    """Units backordered at the end of each day of the window, rebuilt backwards from today's
    backorder `current` (read when not given: one more query) and the day's changes (one query).

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
    end = today or timezone.localdate()
    start = end - dt.timedelta(days=max(1, days) - 1)
    start_at = day_start(start)
    tz = timezone.get_current_timezone()

    # The backorder now, unless the caller has it (the KPIs read it): the levels' stored counters.
    if current is None:
        current = StockLevel.objects.filter(backordered__gt=0).aggregate(
            units=Coalesce(Sum("backordered"), 0)
        )["units"]

    # Backorders created by placement, per day the order was placed: what placement could not
    # allocate, as the order services stored it in the daily demand.
    placed = (
        DailyDemand.objects.filter(day__gte=start)
        .values("day")
        .annotate(units=Sum("units_backordered"))
        .order_by()
        .values_list("day", "units")
    )
    # Releases, per day they were written (negative: they shrink the backorder). A release's
    # allocations are written in its own transaction, right after it, so the releases of the
    # window (and the day before, for a confirm that ran over midnight) name them all: they are
    # found through their release instead of among every allocation ever recorded.
    released = (
        Allocation.objects.filter(
            kind=AllocationKind.RELEASE,
            created_at__gte=start_at,
            release__created_at__gte=start_at - dt.timedelta(days=1),
        )
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(units=-Sum("quantity"))
        .order_by()
        .values_list("day", "units")
    )
    # Waiting units cancelled, per day of the cancellation (see above for which time).
    cancel_rows = Allocation.objects.filter(
        line_id=OuterRef("pk"), kind=AllocationKind.CANCELLATION
    ).order_by()
    freed = cancel_rows.values("line_id").annotate(total=Sum("quantity")).values("total")
    freed_at = cancel_rows.values("line_id").annotate(at=Max("created_at")).values("at")
    # A line's cancellation time is at or after its order's placement, so only lines of orders
    # placed or cancelled in the window, or with a cancellation recorded in it, can count: found
    # through three small partial indexes instead of among every line.
    in_window = (
        OrderLine.objects.filter(quantity_cancelled__gt=0, order__placed_at__gte=start_at)
        .values("pk")
        .union(
            OrderLine.objects.filter(
                quantity_cancelled__gt=0, order__cancelled_at__gte=start_at
            ).values("pk"),
            Allocation.objects.filter(
                kind=AllocationKind.CANCELLATION, created_at__gte=start_at
            ).values("line_id"),
            all=True,
        )
    )
    cancelled = (
        OrderLine.objects.filter(quantity_cancelled__gt=0, pk__in=in_window)
        .annotate(
            waiting=F("quantity_cancelled")
            + Coalesce(Subquery(freed, output_field=IntegerField()), 0),
            when=Coalesce(Subquery(freed_at), "order__cancelled_at", "order__placed_at"),
        )
        .filter(waiting__gt=0, when__gte=start_at)
        .annotate(day=TruncDate("when", tzinfo=tz))
        .values("day")
        .annotate(units=-Sum("waiting"))
        .order_by()
        .values_list("day", "units")
    )
    change: dict[dt.date, int] = defaultdict(int)
    for day, units in placed.union(released, cancelled, all=True).order_by():
        if isinstance(day, str):  # SQLite gives a union's dates as text
            day = dt.date.fromisoformat(day)
        change[day] += units or 0

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


def supplier_lead_time_chart(
    *, stats: dict | None = None, limit: int | None = None
) -> list[tuple[str, float | None, float | None]]:
    """(supplier, promised days, measured mean days or None) for each supplier with terms or
    deliveries, by name. `stats` are `supplier_lead_times` already read (no query); without them
    every supplier's are read (two queries). With `limit`, the suppliers with the most measured
    deliveries are kept."""
    if stats is None:
        stats = supplier_lead_times()
    shown = [s for s in stats.values() if s.promised_days is not None or s.samples]
    if limit is not None:
        shown = sorted(shown, key=lambda s: (-s.samples, s.supplier_name.casefold()))[:limit]
    return [
        (s.supplier_name, s.promised_days, s.measured_mean)
        for s in sorted(shown, key=lambda s: s.supplier_name.casefold())
    ]
