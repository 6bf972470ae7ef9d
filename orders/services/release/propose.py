"""Proposing a release: per product, which waiting lines would get how much of the free stock in
queue order and why. Reads only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError

from common.cleaning import id_int, reason_clean
from common.numbers import document_number
from inventory.models import Product, StockLevel

from ...selectors import QueueRow, backorder_queue_rows
from .plan import (
    ProductRelease,
    ReleaseLineProposal,
    ReleasePlan,
    plan_fingerprint,
    product_ids_clean,
    warehouse_clean,
)


def _plan_build(
    *,
    warehouse_id: int,
    product_ids: list[int],
    shipment_id: int | None,
    levels: Mapping[int, StockLevel],
    queues: Mapping[int, list[QueueRow]],
    moved_up: Mapping[int, str],
) -> ReleasePlan:
    # A waiting line always has a level (placing an order creates it); the look-up of products
    # without one is a safety net that costs a query only when it is needed.
    bare = [pid for pid in product_ids if pid not in levels and queues.get(pid)]
    names = {
        pid: (sku, name)
        for pid, sku, name in (
            Product.objects.filter(pk__in=bare).values_list("pk", "sku", "name") if bare else ()
        )
    }
    names.update({pid: (level.product.sku, level.product.name) for pid, level in levels.items()})
    moved_order = {line_id: n for n, line_id in enumerate(moved_up)}
    products = []
    for pid in product_ids:
        level = levels.get(pid)
        queue = queues.get(pid, ())
        if level is None and not queue:
            continue
        sku, name = names[pid]
        entry = ProductRelease(
            product_id=pid,
            sku=sku,
            name=name,
            on_hand=level.on_hand if level else 0,
            allocated=level.allocated if level else 0,
        )
        proposals = [
            ReleaseLineProposal(
                line_id=row.line_id,
                order_id=row.order_id,
                order_number=document_number("SO", row.order_id),
                customer=row.customer,
                priority=row.priority,
                placed_at=row.placed_at,
                waiting=row.waiting,
                position=position,
                moved_up_reason=moved_up.get(row.line_id, ""),
            )
            for position, row in enumerate(queue, start=1)
        ]
        # Lines staff moved up go first, in the order they were moved; the rest keep queue order.
        if moved_order:
            ahead = sorted(
                (p for p in proposals if p.moved_up_reason), key=lambda p: moved_order[p.line_id]
            )
            proposals = ahead + [p for p in proposals if not p.moved_up_reason]
        entry.lines = proposals
        free = max(0, entry.available)
        for proposal in proposals:
            proposal.quantity = min(proposal.waiting, free)
            free -= proposal.quantity
        products.append(entry)
    return ReleasePlan(
        warehouse_id=warehouse_id,
        shipment_id=shipment_id,
        products=products,
        fingerprint=plan_fingerprint(warehouse_id, product_ids, levels, queues),
    )


def _moved_up_clean(moved_up: Mapping) -> dict[int, str]:
    cleaned = {}
    for key, reason in moved_up.items():
        try:
            line_id = id_int(key)
        except (TypeError, ValueError):
            raise ValidationError("Unknown order line moved up.", code="unknown_line") from None
        cleaned[line_id] = reason_clean(reason, field="reason for moving up")
    return cleaned


def release_propose(
    *,
    warehouse_id: int,
    product_ids: Iterable[int],
    shipment_id: int | None = None,
    moved_up: Mapping[int, str] | None = None,
) -> ReleasePlan:
    """Propose, per product, which waiting lines get how much of the free stock in queue order
    (rule 4), with the reason for each line. Reads only; three queries whatever the size."""
    warehouse_id = warehouse_clean(warehouse_id)
    ids = product_ids_clean(product_ids)
    levels = {
        level.product_id: level
        for level in StockLevel.objects.filter(
            warehouse_id=warehouse_id, product_id__in=ids
        ).select_related("product")
    }
    queues = backorder_queue_rows(warehouse_id=warehouse_id, product_ids=ids)
    return _plan_build(
        warehouse_id=warehouse_id,
        product_ids=ids,
        shipment_id=shipment_id,
        levels=levels,
        queues=queues,
        moved_up=_moved_up_clean(moved_up or {}),
    )
