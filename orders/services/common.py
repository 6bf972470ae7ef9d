"""Pieces shared by the order services: line arithmetic, order status, allocation records,
locking orders after levels, and customer notification after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.db import transaction

from ..models import OrderLine, SalesOrder, SalesOrderStatus

logger = logging.getLogger(__name__)


def waiting(line: OrderLine) -> int:
    """Backorder of a line from its current in-memory quantities.

    The stored quantity_backordered column is computed by the database and is stale on an instance
    the services have just changed, so services always use this instead."""
    return (
        line.quantity_ordered
        - line.quantity_allocated
        - line.quantity_shipped
        - line.quantity_cancelled
    )


def status_for(lines: Iterable[OrderLine]) -> str:
    """An order waits while any line waits, is ready while anything allocated is unshipped, is
    shipped once everything wanted went out, and is cancelled when nothing was ever shipped."""
    lines = list(lines)
    if any(waiting(line) > 0 for line in lines):
        return SalesOrderStatus.BACKORDERED
    if any(line.quantity_allocated > 0 for line in lines):
        return SalesOrderStatus.READY
    if any(line.quantity_shipped > 0 for line in lines):
        return SalesOrderStatus.SHIPPED
    return SalesOrderStatus.CANCELLED


def orders_lock(order_ids: Iterable[int]) -> dict[int, SalesOrder]:
    """Lock orders (after their stock levels) in primary-key order."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = (
        SalesOrder.objects.filter(pk__in=ids)
        .select_related("customer", "warehouse")
        .select_for_update(no_key=True, of=("self",))
        .order_by("pk")
    )
    return {order.pk: order for order in rows}


def order_lookup(order_id) -> SalesOrder:
    try:
        return SalesOrder.objects.only("pk", "warehouse_id").get(pk=order_id)
    except (SalesOrder.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That order does not exist.", code="unknown_order") from None


def require_open(order: SalesOrder, action: str) -> None:
    if not order.is_open:
        raise ValidationError(
            "%(number)s is %(status)s; it cannot be %(action)s.",
            code="order_closed",
            params={
                "number": order.number,
                "status": order.get_status_display().lower(),
                "action": action,
            },
        )


def notify_ready_after_commit(order_ids: Iterable[int]) -> None:
    """Tell customers their orders are ready, once the transaction that made them ready commits.

    Sending happens after commit so a slow or failing mail server can never undo or hold up the
    release; a failure is logged, never raised into the request that already succeeded."""
    ids = sorted(set(order_ids))
    if ids:
        transaction.on_commit(lambda: orders_ready_notify(order_ids=ids))


def orders_ready_notify(*, order_ids: list[int]) -> int:
    """Email each customer whose order is (still) ready to ship; returns how many were sent."""
    orders = (
        SalesOrder.objects.filter(pk__in=order_ids, status=SalesOrderStatus.READY)
        .exclude(customer__email="")
        .select_related("customer", "warehouse")
    )
    messages = [
        (
            f"Your order {order.number} is ready to ship",
            (
                f"Hello {order.customer.name},\n\n"
                f"Everything on your order {order.number}"
                f"{f' (your reference {order.customer_reference})' if order.customer_reference else ''}"
                f" is now reserved for you at our {order.warehouse.name} warehouse and will be shipped shortly.\n"
            ),
            settings.DEFAULT_FROM_EMAIL,
            [order.customer.email],
        )
        for order in orders
    ]
    if not messages:
        return 0
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:
        logger.exception("Could not send ready-to-ship notifications for orders %s", order_ids)
        return 0
