"""One release: its allocations in the order they were given, what it did in numbers, and the
orders it made ready to ship."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import Count, Prefetch, Q, QuerySet, Sum, Value, prefetch_related_objects
from django.db.models.functions import Coalesce

from ..models import Allocation, OrderLine, SalesOrder, SalesOrderStatus

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


def release_allocation_values(
    *, allocations: QuerySet[Allocation], fields: Sequence[str], chunk_size: int = 2000
) -> Iterator[tuple]:
    """These allocations as tuples of the given fields, in their order, read through a
    server-side cursor a chunk at a time (a release can give out tens of thousands)."""
    return allocations.values_list(*fields).iterator(chunk_size=chunk_size)
