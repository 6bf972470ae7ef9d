"""The orders area's part of the audit trail (see inventory.audit): orders placed and cancelled,
lines cancelled, and every allocation, de-allocation and release, in the shared row shape."""

from __future__ import annotations

from django.db.models import Case, CharField, F, OuterRef, Subquery, TextField, When
from django.db.models.functions import Concat

from common.audit import HistoryPart, admin_log_rows, audit_rows, number_of, text

from .models import Allocation, AllocationKind, OrderLine, SalesOrder


def _allocation_action():
    return Concat(text("alloc_"), F("kind"), output_field=CharField())


def _release_number():
    return Case(
        When(release__isnull=False, then=Concat(text(" "), number_of("REL", "release_id"))),
        default=text(""),
        output_field=TextField(),
    )


def order_history_parts(*, order_id: int) -> list[HistoryPart]:
    """Placement, cancellations, allocation history and admin changes of one order."""
    order = SalesOrder.objects.filter(pk=order_id)
    lines = OrderLine.objects.filter(order_id=order_id)
    return [
        audit_rows(
            order,
            at="placed_at",
            user="created_by__username",
            action=text("order_placed"),
            detail=Concat(text("for "), F("customer__name"), output_field=TextField()),
        ),
        audit_rows(
            order.filter(cancelled_at__isnull=False),
            at="cancelled_at",
            user="cancelled_by__username",
            action=text("order_cancelled"),
            reason="cancel_reason",
        ),
        audit_rows(
            lines.filter(cancelled_at__isnull=False),
            at="cancelled_at",
            user="cancelled_by__username",
            action=text("line_cancelled"),
            quantity="quantity_cancelled",
            reason="cancel_reason",
            detail="product__sku",
        ),
        audit_rows(
            Allocation.objects.filter(line__order_id=order_id),
            at="created_at",
            user="created_by__username",
            action=_allocation_action(),
            quantity="quantity",
            reason="reason",
            detail=Concat(F("line__product__sku"), _release_number(), output_field=TextField()),
        ),
        admin_log_rows(app_label="orders", model="salesorder", object_ids=order),
        admin_log_rows(app_label="orders", model="orderline", object_ids=lines),
    ]


def product_allocation_rows(*, product_id: int) -> HistoryPart:
    """A product's allocations, releases and cancellations, naming the order (and release).

    Shipping is left out: the stock ledger already records it, with who and why."""
    # The order's warehouse is looked up per row shown, not joined: a join of the orders table
    # made PostgreSQL hash all orders (a scan that grows with the database) to dress the rows of
    # one product, while a per-row lookup by key runs only for the rows the page can reach.
    warehouse_code = Subquery(
        SalesOrder.objects.filter(pk=OuterRef("line__order_id")).values("warehouse__code")[:1],
        output_field=CharField(),
    )
    return audit_rows(
        Allocation.objects.filter(line__product_id=product_id).exclude(
            kind=AllocationKind.SHIPMENT
        ),
        at="created_at",
        user="created_by__username",
        action=_allocation_action(),
        quantity="quantity",
        reason="reason",
        detail=Concat(
            warehouse_code,
            text(" "),
            number_of("SO", "line__order_id"),
            _release_number(),
            output_field=TextField(),
        ),
    )
