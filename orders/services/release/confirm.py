"""Confirming a reviewed release: under the stock levels' locks, check that nothing moved since the
plan was proposed and apply every decision together, or nothing at all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.bulk import column_add, rows_insert
from common.cleaning import acting_user, id_int, quantity_clean, reason_clean
from common.numbers import document_number
from common.transactions import write_transaction
from inventory.services import levels_counters_add, levels_lock
from suppliers.selectors import shipment_warehouse_id

from ...models import Allocation, AllocationKind, OrderLine, Release
from ...selectors import backorder_queue_rows
from ..common import notify_ready_after_commit, orders_lock_ids, orders_ready_after_allocation
from .plan import (
    ReleaseDecision,
    ReleaseResult,
    StalePlanError,
    plan_fingerprint,
    product_ids_clean,
    warehouse_clean,
)


def _decisions_clean(decisions: Sequence[ReleaseDecision | Mapping]) -> list[ReleaseDecision]:
    cleaned, seen = [], set()
    limit = settings.BACKSTOCK_MAX_QUANTITY
    for raw in decisions:
        if isinstance(raw, Mapping):
            raw = ReleaseDecision(
                line_id=raw.get("line_id"),
                quantity=raw.get("quantity"),
                moved_up_reason=raw.get("moved_up_reason", ""),
            )
        line_id = raw.line_id
        if type(line_id) is not int or not 0 < line_id < 2**63:
            try:
                line_id = id_int(line_id)
            except (TypeError, ValueError):
                raise ValidationError(
                    "Unknown order line in the release.", code="unknown_line"
                ) from None
        if line_id in seen:
            raise ValidationError("A line appears twice in the release.", code="duplicate_line")
        seen.add(line_id)
        quantity = raw.quantity
        # A release carries one decision per waiting line, tens of thousands of them: a plain
        # integer in range is already clean, anything else gets the full check and its message.
        if type(quantity) is not int or not 0 <= quantity <= limit:
            quantity = quantity_clean(quantity, field="quantity to release", allow_zero=True)
        reason = raw.moved_up_reason
        if reason:
            reason = reason_clean(reason, required=False, field="reason for moving up")
        else:
            reason = ""
        if line_id is raw.line_id and quantity is raw.quantity and reason is raw.moved_up_reason:
            cleaned.append(raw)
        else:
            cleaned.append(
                ReleaseDecision(line_id=line_id, quantity=quantity, moved_up_reason=reason)
            )
    return cleaned


@write_transaction
def release_confirm(
    *,
    warehouse_id: int,
    product_ids: Iterable[int],
    fingerprint: str,
    decisions: Sequence[ReleaseDecision | Mapping],
    by,
    shipment_id: int | None = None,
    note: str = "",
) -> ReleaseResult:
    """Apply a reviewed release all together or not at all.

    Locks the products' stock levels, then checks that free stock and the queue are exactly what the
    plan saw (otherwise StalePlanError and nothing changes), that every line gets at most what it
    waits for, that no product gives more than it has free, and that any line placed ahead of an
    earlier one carries a written reason (rule 4). Orders that become fully allocated turn ready to
    ship and their customers are notified after commit."""
    warehouse_id = warehouse_clean(warehouse_id)
    ids = product_ids_clean(product_ids)
    cleaned = _decisions_clean(decisions)
    note = reason_clean(note, required=False, field="note")
    if shipment_id is not None and shipment_warehouse_id(shipment_id=shipment_id) != warehouse_id:
        raise ValidationError(
            "That shipment was not received at this warehouse.", code="unknown_shipment"
        )
    if not any(d.quantity for d in cleaned):
        raise ValidationError("Nothing to release: every line is at 0.", code="nothing_to_release")

    locked = levels_lock(pairs=[(pid, warehouse_id) for pid in ids])
    levels = {pid: level for (pid, _), level in locked.items()}
    # The level locks freeze these products' queues (every change of a line's quantities locks
    # its level first), so the rows read now stay current until commit without locking them.
    queues = backorder_queue_rows(warehouse_id=warehouse_id, product_ids=ids, for_review=False)
    if plan_fingerprint(warehouse_id, ids, levels, queues) != fingerprint:
        raise StalePlanError(
            "The stock or the queue changed while you were reviewing (someone else placed, shipped, "
            "cancelled or released). Nothing was applied. Here is the fresh proposal.",
            code="stale_plan",
        )

    rows = {row.line_id: row for queue in queues.values() for row in queue}
    position = {row.line_id: n for queue in queues.values() for n, row in enumerate(queue)}
    per_product: dict[int, list[ReleaseDecision]] = {}
    for decision in cleaned:
        row = rows.get(decision.line_id)
        if row is None:
            raise ValidationError(
                "An order line in the release is not waiting for these products.",
                code="unknown_line",
            )
        if decision.quantity > row.waiting:
            raise ValidationError(
                "%(number)s waits for %(waiting)s of %(sku)s; it cannot get %(qty)s.",
                code="over_waiting",
                params={
                    "number": document_number("SO", row.order_id),
                    "waiting": row.waiting,
                    "sku": levels[row.product_id].product.sku,
                    "qty": decision.quantity,
                },
            )
        per_product.setdefault(row.product_id, []).append(decision)

    level_deltas: dict[int, dict[str, int]] = {}  # summed per level: one row each in the UPDATE
    for pid, chosen in per_product.items():
        level = levels[pid]
        total = sum(d.quantity for d in chosen)
        if total > level.available:
            raise ValidationError(
                "Only %(free)s of %(sku)s are free; the release gives out %(total)s.",
                code="over_available",
                params={"free": level.available, "sku": level.product.sku, "total": total},
            )
        # A line listed before one that is earlier in the queue has been moved up: it needs a reason.
        later_min = None
        for decision in reversed(chosen):
            pos = position[decision.line_id]
            if (
                later_min is not None
                and pos > later_min
                and decision.quantity
                and not decision.moved_up_reason
            ):
                raise ValidationError(
                    "%(number)s was moved ahead of earlier orders; give a reason for moving it up.",
                    code="reason_required",
                    params={"number": document_number("SO", rows[decision.line_id].order_id)},
                )
            later_min = pos if later_min is None else min(later_min, pos)
        if total:
            level.allocated += total
            level.backordered -= total
            level_deltas[level.pk] = {"allocated": total, "backordered": -total}

    user = acting_user(by)
    release = Release.objects.create(
        warehouse_id=warehouse_id, shipment_id=shipment_id, note=note, created_by=user
    )
    given = [d for d in cleaned if d.quantity]
    # Set-based writes: one INSERT of the history and one UPDATE per table, whatever the size
    # (see bulk.py). Line quantities are added in the database; the locks keep them exact.
    rows_insert(
        Allocation,
        names=["line_id", "quantity", "reason"],
        rows=[
            (
                d.line_id,
                d.quantity,
                f"Moved up: {d.moved_up_reason}"[:255]
                if d.moved_up_reason
                else f"Queue position {position[d.line_id] + 1}",
            )
            for d in given
        ],
        constants={
            "kind": AllocationKind.RELEASE.value,
            "release_id": release.pk,
            "shipment_id": shipment_id,
            "created_by_id": user.pk if user else None,
            "created_at": timezone.now(),
        },
    )
    column_add(OrderLine, "quantity_allocated", {d.line_id: d.quantity for d in given})
    levels_counters_add(deltas=level_deltas)

    # Status of the touched orders: lock them (after the levels, in key order), then recompute.
    touched = orders_lock_ids(rows[d.line_id].order_id for d in given)
    ready = orders_ready_after_allocation(touched)
    notify_ready_after_commit(ready)
    return ReleaseResult(
        release=release, units=sum(d.quantity for d in given), ready_order_ids=ready
    )
