"""Orders: the order list with its line totals, one order's allocation history, and the products
an order may name."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from inventory.models import Product

from ..models import OPEN_ORDER_STATUSES, Allocation, OrderLine, SalesOrder


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


def order_allocations(*, order_id: int) -> QuerySet[Allocation]:
    """Everything allocated to (or taken back from) an order's lines, oldest first, with the
    product, release, shipment and user each row names."""
    return (
        Allocation.objects.filter(line__order_id=order_id)
        .select_related("line__product", "release", "shipment", "created_by")
        .order_by("created_at", "id")
    )


def products_matching(*, text: str, limit: int = 20) -> QuerySet[Product]:
    """Active products whose SKU starts with the text or whose name contains it, by SKU, at most
    `limit`: what a new order line may name."""
    return Product.objects.filter(is_active=True).filter(
        Q(sku__istartswith=text) | Q(name__icontains=text)
    )[:limit]


def products_by_sku(*, product_ids: Iterable[int]) -> QuerySet[Product]:
    """These products in SKU order, as a page names the products it speaks of."""
    return Product.objects.filter(pk__in=list(product_ids)).order_by("sku")
