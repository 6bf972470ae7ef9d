"""Pieces shared by the order services: line arithmetic, order status, allocation records,
locking orders after levels, and customer notification after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from common.bulk import pk_among, pk_filter

from ..models import OrderLine, SalesOrder, SalesOrderStatus
from ..tasks import orders_ready_notify

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


def orders_ready_after_allocation(order_ids: list[int]) -> list[int]:
    """Mark ready the locked orders, just given stock, none of whose lines waits any more; return
    their ids in primary-key order. One statement, whatever the number of orders.

    This is status_for applied to what an allocation can change: each order here had a waiting
    line (so it was waiting for stock) and now holds an allocation, so it is ready exactly when
    no line waits, and otherwise stays waiting. The callers hold the orders' locks, taken after
    their levels, so the lines read here are final."""
    if not order_ids:
        return []
    orders = connection.ops.quote_name(SalesOrder._meta.db_table)
    lines = connection.ops.quote_name(OrderLine._meta.db_table)
    among, params = pk_among(SalesOrder, order_ids)
    sql = (
        f"UPDATE {orders} SET status = %s WHERE {among} AND status <> %s "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {lines} l WHERE l.order_id = {orders}.id "
        f"AND l.quantity_backordered > 0) RETURNING {orders}.id"
    )
    ready = SalesOrderStatus.READY.value
    with connection.cursor() as cursor:
        cursor.execute(sql, [ready, *params, ready])
        return sorted(row[0] for row in cursor.fetchall())


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


def orders_lock_ids(order_ids: Iterable[int]) -> list[int]:
    """Lock many orders (after their stock levels) in primary-key order, reading only their ids."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    return list(
        SalesOrder.objects.filter(pk_filter(SalesOrder, ids))
        .select_for_update(no_key=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


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
    """Queue the ready-to-ship emails once the transaction that made the orders ready commits.

    Nothing is queued if the transaction rolls back. The emails are sent by the task worker, so a
    slow or failing mail server can never undo or hold up the release; a failed enqueue (the
    database gone right after the commit) is logged by Django and never fails the request."""
    ids = sorted(set(order_ids))
    if ids:
        transaction.on_commit(partial(_notify_enqueue, ids), robust=True)


def _notify_enqueue(order_ids: list[int]) -> None:
    orders_ready_notify.enqueue(order_ids=order_ids)
