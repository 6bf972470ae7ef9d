"""The backorder queue: waiting lines in release order, their places in it, what they are owed,
and how long they have waited."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ..filters import AGE_BUCKETS, bucket_q
from ..models import OrderLine, SalesOrderStatus

# Release order of the backorder queue: priority (high first), then placed time, then line id.
QUEUE_ORDER = ("-order__priority", "order__placed_at", "order_id", "id")


def waiting_lines() -> QuerySet[OrderLine]:
    """Lines with a backorder, in queue order within each product × warehouse."""
    return OrderLine.objects.filter(quantity_backordered__gt=0).order_by(*QUEUE_ORDER)


def backorder_queue(*, product_id: int, warehouse_id: int) -> QuerySet[OrderLine]:
    """Waiting lines of one product × warehouse in release order: priority, then age, then id."""
    return (
        waiting_lines()
        .filter(product_id=product_id, order__warehouse_id=warehouse_id)
        .select_related("order", "order__customer")
    )


def backorder_queues(
    *, warehouse_id: int, product_ids: Iterable[int]
) -> dict[int, list[OrderLine]]:
    """The queues of several products at one warehouse in one query, keyed by product id."""
    queues: dict[int, list[OrderLine]] = defaultdict(list)
    lines = (
        waiting_lines()
        .filter(product_id__in=list(product_ids), order__warehouse_id=warehouse_id)
        .select_related("order", "order__customer", "product")
    )
    for line in lines:
        queues[line.product_id].append(line)
    return queues


class QueueRow(NamedTuple):
    """One waiting line as the release needs it: plain values, no model instances."""

    line_id: int
    product_id: int
    order_id: int
    waiting: int
    # Only for people reading the plan; left out when the rows are read for a confirmation.
    priority: int | None = None
    placed_at: dt.datetime | None = None
    customer: str | None = None


def backorder_queue_rows(
    *, warehouse_id: int, product_ids: Iterable[int], for_review: bool = True
) -> dict[int, list[QueueRow]]:
    """The queues of several products at one warehouse as plain rows in release order, keyed by
    product id; one query. A release reads tens of thousands of lines, so no models are built,
    and without `for_review` only the columns a confirmation checks are read."""
    queues: dict[int, list[QueueRow]] = defaultdict(list)
    columns = ["id", "product_id", "order_id", "quantity_backordered"]
    if for_review:
        columns += ["order__priority", "order__placed_at", "order__customer__name"]
    rows = (
        waiting_lines()
        .filter(product_id__in=list(product_ids), order__warehouse_id=warehouse_id)
        .values_list(*columns)
    )
    for row in rows:
        queues[row[1]].append(QueueRow(*row))
    return queues


def backorder_lines(
    *,
    warehouse_id: int | None = None,
    product_id: int | None = None,
    customer_id: int | None = None,
) -> QuerySet[OrderLine]:
    """All waiting lines across products, grouped by product × warehouse in queue order."""
    # An order waits for stock exactly while one of its lines waits (status_for; check_stock
    # verifies it), so naming the status drops no line; it lets PostgreSQL read the waiting
    # orders from their partial index instead of joining all of them (the backorder list's age
    # buckets join every waiting line to its order).
    lines = OrderLine.objects.filter(
        quantity_backordered__gt=0, order__status=SalesOrderStatus.BACKORDERED
    )
    if warehouse_id:
        lines = lines.filter(order__warehouse_id=warehouse_id)
    if product_id:
        lines = lines.filter(product_id=product_id)
    if customer_id:
        lines = lines.filter(order__customer_id=customer_id)
    return lines.select_related("order", "order__customer", "order__warehouse", "product").order_by(
        "product__sku", "order__warehouse__code", *QUEUE_ORDER
    )


def backordered_by_product(*, warehouse_id: int, product_ids: Iterable[int]) -> dict[int, int]:
    """Units owed to the queue per product at one warehouse (rule 3's 'backordered')."""
    rows = (
        OrderLine.objects.filter(
            quantity_backordered__gt=0,
            order__warehouse_id=warehouse_id,
            product_id__in=list(product_ids),
        )
        .values("product_id")
        .annotate(total=Sum("quantity_backordered"))
    )
    return {row["product_id"]: row["total"] for row in rows}


def backordered_subquery(
    *, product_ref: str = "product_id", warehouse_ref: str = "warehouse_id"
) -> Coalesce:
    """Annotation: units backordered for the outer row's product × warehouse (0 when none)."""
    total = (
        OrderLine.objects.filter(
            quantity_backordered__gt=0,
            product_id=OuterRef(product_ref),
            order__warehouse_id=OuterRef(warehouse_ref),
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity_backordered"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def queue_position() -> Coalesce:
    """Annotation: the line's 1-based place in its product × warehouse queue, counted over the
    whole queue (not just the filtered rows), in release order: priority, placed time, order id."""
    outer_priority = OuterRef("order__priority")
    outer_placed = OuterRef("order__placed_at")
    ahead = (
        OrderLine.objects.filter(
            quantity_backordered__gt=0,
            product_id=OuterRef("product_id"),
            order__warehouse_id=OuterRef("order__warehouse_id"),
        )
        .filter(
            Q(order__priority__gt=outer_priority)
            | Q(order__priority=outer_priority, order__placed_at__lt=outer_placed)
            | Q(
                order__priority=outer_priority,
                order__placed_at=outer_placed,
                order_id__lt=OuterRef("order_id"),
            )
        )
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)) + 1


def backorder_age_totals(*, lines: QuerySet[OrderLine]) -> dict[str, int]:
    """Lines and units of these waiting lines per age bucket (`lines_<key>`, `units_<key>`), every
    bucket present, in one query."""
    totals = {}
    for key, *_ in AGE_BUCKETS:
        totals[f"lines_{key}"] = Count("id", filter=bucket_q(key))
        totals[f"units_{key}"] = Coalesce(
            Sum("quantity_backordered", filter=bucket_q(key)), Value(0)
        )
    return lines.order_by().aggregate(**totals)
