"""Reads about orders: the backorder queue, ETAs for waiting lines and demand history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from inventory.models import StockLevel
from suppliers.selectors import open_supply

from .models import OPEN_ORDER_STATUSES, Allocation, OrderLine, SalesOrder, SalesOrderStatus

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


# --- ETA -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eta:
    """When enough stock is due to reach a waiting line.

    state: "now" (stock is on the shelf, waiting for a release), "expected" (a purchase order due on
    `date` covers it), "overdue" (the covering purchase order's expected date has passed), or
    "none" (no supply ordered covers it).
    """

    state: str
    date: dt.date | None = None
    reference: str = ""

    @property
    def label(self) -> str:
        if self.state == "now":
            return "In stock – awaiting release"
        if self.state == "expected":
            return f"{self.date:%d %b %Y}"
        if self.state == "overdue":
            return f"Overdue (was due {self.date:%d %b %Y})"
        return "No supply ordered"


def line_etas(*, lines: Iterable[OrderLine], today: dt.date | None = None) -> dict[int, Eta]:
    """ETA for each waiting line: walk each product × warehouse queue in release order against
    free stock now and then open purchase order lines by expected date; three queries in all."""
    today = today or timezone.localdate()
    lines = list(lines)
    pairs = {(line.product_id, line.order.warehouse_id) for line in lines}
    if not pairs:
        return {}
    product_ids = {p for p, _ in pairs}
    warehouse_ids = {w for _, w in pairs}

    queues: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    queue_rows = (
        waiting_lines()
        .filter(product_id__in=product_ids, order__warehouse_id__in=warehouse_ids)
        .values_list("id", "product_id", "order__warehouse_id", "quantity_backordered")
    )
    for line_id, product_id, warehouse_id, waiting in queue_rows:
        if (product_id, warehouse_id) in pairs:
            queues[(product_id, warehouse_id)].append((line_id, waiting))

    free_now = {
        (p, w): on_hand - allocated
        for p, w, on_hand, allocated in StockLevel.objects.filter(
            product_id__in=product_ids, warehouse_id__in=warehouse_ids
        ).values_list("product_id", "warehouse_id", "on_hand", "allocated")
    }
    supply = open_supply(product_ids=product_ids, warehouse_ids=warehouse_ids)

    etas: dict[int, Eta] = {}
    for pair, queue in queues.items():
        sources: list[tuple[str, dt.date | None, int, str]] = []
        if free_now.get(pair, 0) > 0:
            sources.append(("now", None, free_now[pair], ""))
        for expected, outstanding, reference in supply.get(pair, []):
            sources.append(
                ("overdue" if expected < today else "expected", expected, outstanding, reference)
            )
        covered = 0
        needed = 0
        index = 0
        for line_id, waiting in queue:
            needed += waiting
            while covered < needed and index < len(sources):
                covered += sources[index][2]
                index += 1
            if covered >= needed:
                state, date, _, reference = sources[index - 1]
                etas[line_id] = Eta(state=state, date=date, reference=reference)
            else:
                etas[line_id] = Eta(state="none")
    return etas


# --- demand ------------------------------------------------------------------------------------


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


def _line_total(expression) -> Coalesce:
    """Annotation: a total over the outer order's lines (0 without lines). A correlated subquery,
    not a join and GROUP BY, so the list's COUNT(*) reads the orders alone and the totals are
    worked out only for the rows of the page, after the LIMIT."""
    total = (
        OrderLine.objects.filter(order_id=OuterRef("pk"))
        .order_by()
        .values("order_id")
        .annotate(total=expression)
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def orders_listed() -> QuerySet[SalesOrder]:
    """Orders with customer, warehouse and their line totals (lines and units ordered,
    allocated, backordered, shipped); newest first unless the list sorts otherwise."""
    return (
        SalesOrder.objects.select_related("customer", "warehouse")
        .annotate(
            line_count=_line_total(Count("pk")),
            units_ordered=_line_total(Sum("quantity_ordered")),
            units_allocated=_line_total(Sum("quantity_allocated")),
            units_backordered=_line_total(Sum("quantity_backordered")),
            units_shipped=_line_total(Sum("quantity_shipped")),
        )
        .order_by("-placed_at", "-id")
    )


def open_orders() -> QuerySet[SalesOrder]:
    return SalesOrder.objects.filter(status__in=OPEN_ORDER_STATUSES)


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


# --- one release ---------------------------------------------------------------------------------

# The order a release gave its stock, which is the order its allocations were written in: the
# products as the review lists them, then each product's lines in the order they were served
# (queue position, moved-up lines first). All of a release's rows share one created_at, and no
# index leads with it, so the database reads the release's rows through the release index and
# sorts them; ordering by the id alone lets PostgreSQL walk the primary key of every allocation
# ever made looking for the release's rows, which it prefers once the statistics know them.
RELEASE_ORDER = ("created_at", "id")


def release_allocations(*, release_id: int) -> QuerySet[Allocation]:
    """A release's allocations as released. Nothing is joined: joining lines, orders, customers
    and products to every allocation before the sort costs more than loading them afterwards
    for the rows wanted (`release_allocation_lines`)."""
    return Allocation.objects.filter(release_id=release_id).order_by(*RELEASE_ORDER)


def release_allocation_lines(*, allocations: list[Allocation]) -> None:
    """Load the line, order, customer and product of these allocations in one query."""
    prefetch_related_objects(
        allocations,
        Prefetch("line", OrderLine.objects.select_related("order__customer", "product")),
    )


def release_summary(*, release_id: int) -> dict[str, int]:
    """What a release did, counted in one query: allocations, units, lines, products, orders
    served, and how many of those orders are ready to ship now (they may have shipped since)."""
    ready = Q(line__order__status=SalesOrderStatus.READY)
    return Allocation.objects.filter(release_id=release_id).aggregate(
        allocations=Count("id"),
        units=Coalesce(Sum("quantity"), Value(0)),
        lines=Count("line_id", distinct=True),
        products=Count("line__product_id", distinct=True),
        orders=Count("line__order_id", distinct=True),
        ready_orders=Count("line__order_id", distinct=True, filter=ready),
    )


def release_ready_orders(*, release_id: int) -> QuerySet[SalesOrder]:
    """Orders the release served that are ready to ship now, in the order they would ship:
    priority (high first), then placed time."""
    served = OrderLine.objects.filter(allocations__release_id=release_id).values("order_id")
    return (
        SalesOrder.objects.filter(status=SalesOrderStatus.READY, pk__in=served)
        .select_related("customer")
        .order_by("-priority", "placed_at", "id")
    )
