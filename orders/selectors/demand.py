"""Demand history: units ordered per product and day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import OrderLine


def demand_history(
    *, product_id: int, warehouse_id: int, days: int = 90, end: dt.date | None = None
) -> list[tuple[dt.date, int]]:
    """Units ordered per day (orders' placed date) over the window ending on `end`, including
    days without orders as zero. Cancelled quantities are not demand."""
    end = end or timezone.localdate()
    start = end - dt.timedelta(days=days - 1)
    totals = demand_by_day(
        product_ids=[product_id], warehouse_id=warehouse_id, start=start, end=end
    )
    per_day = totals.get(product_id, {})
    return [
        (start + dt.timedelta(days=i), per_day.get(start + dt.timedelta(days=i), 0))
        for i in range(days)
    ]


def demand_by_day(
    *, product_ids: Iterable[int] | None, warehouse_id: int, start: dt.date, end: dt.date
) -> dict[int, dict[dt.date, int]]:
    """Units ordered per product per day at one warehouse between start and end inclusive."""
    tz = timezone.get_current_timezone()
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    lines = OrderLine.objects.filter(
        order__warehouse_id=warehouse_id,
        order__placed_at__gte=start_at,
        order__placed_at__lt=end_at,
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    rows = (
        lines.annotate(day=TruncDate("order__placed_at", tzinfo=tz))
        .values("product_id", "day")
        .annotate(units=Sum(F("quantity_ordered") - F("quantity_cancelled")))
        .order_by()
    )
    result: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        if row["units"]:
            result[row["product_id"]][row["day"]] = row["units"]
    return result
