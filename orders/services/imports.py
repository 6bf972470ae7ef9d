"""Placing the orders of a checked CSV import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from orders.imports import OrderCheck
from orders.models import OrderLine, SalesOrder
from orders.services import order_place


@dataclass
class ImportOutcome:
    order_ref: str
    customer: str
    order: SalesOrder | None = None
    error: str = ""
    lines_allocated: int = 0
    lines_backordered: int = 0


def orders_import(*, orders: Sequence[OrderCheck], by) -> list[ImportOutcome]:
    """Place each checked order through order_place, one transaction per order and in file order,
    so rule 3 holds and earlier rows get free stock first. An order the service refuses is
    reported and the others still go in: they are independent customer orders."""
    outcomes = []
    for checked in orders:
        outcome = ImportOutcome(order_ref=checked.order_ref, customer=checked.customer)
        try:
            outcome.order = order_place(
                customer_id=checked.customer_id,
                warehouse_id=checked.warehouse_id,
                lines=checked.lines,
                by=by,
                priority=checked.priority,
                customer_reference=checked.order_ref,
            )
        except ValidationError as exc:
            outcome.error = " ".join(exc.messages)
        outcomes.append(outcome)

    placed = {o.order.pk: o for o in outcomes if o.order}
    counts = (
        OrderLine.objects.filter(order_id__in=placed)
        .values("order_id")
        .annotate(
            waiting=Count("id", filter=Q(quantity_backordered__gt=0)),
            served=Count("id", filter=Q(quantity_backordered=0)),
        )
    )
    for row in counts:
        placed[row["order_id"]].lines_allocated = row["served"]
        placed[row["order_id"]].lines_backordered = row["waiting"]
    return outcomes
