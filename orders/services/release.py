"""Releasing arrived or freed stock to the backorder queue as one reviewed batch (rule 4).

`release_propose` is read-only: it lays out, per product, which waiting lines would get how much in
queue order and why, and fingerprints the state it looked at (free stock and the queue). Staff
review and change the plan; `release_confirm` locks the stock levels, recomputes the fingerprint and
applies the reviewed decisions all together, or nothing at all if anything moved in between.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.bulk import column_add, ids_in, rows_insert
from common.cleaning import acting_user, id_int, quantity_clean, reason_clean
from common.numbers import document_number
from common.transactions import write_transaction
from inventory.models import Product, StockLevel, Warehouse
from inventory.services import levels_counters_add, levels_lock
from suppliers.selectors import shipment_warehouse_id

from ..models import Allocation, AllocationKind, OrderLine, Priority, Release, SalesOrder
from ..selectors import QueueRow, backorder_queue_rows
from .common import notify_ready_after_commit, orders_lock_ids, orders_ready_after_allocation

MAX_PRODUCTS = 1000


class StalePlanError(ValidationError):
    """The stock or the queue changed after the plan was proposed; nothing was applied."""


@dataclass
class ReleaseLineProposal:
    line_id: int
    order_id: int
    order_number: str
    customer: str
    priority: int
    placed_at: dt.datetime
    waiting: int
    position: int  # 1-based place in the queue
    quantity: int = 0  # proposed units
    moved_up_reason: str = ""

    @property
    def priority_label(self) -> str:
        return Priority(self.priority).label

    # Worked out once per line, and only for the lines a page shows: a plan holds every waiting
    # line of its products, the review shows a bounded number of them.
    @cached_property
    def placed_on(self) -> dt.date:
        return timezone.localtime(self.placed_at).date()

    @cached_property
    def waiting_days(self) -> int:
        return (timezone.localdate() - self.placed_on).days

    @property
    def reason(self) -> str:
        """Why this line is where it is and gets what it gets, in words staff can check."""
        if self.moved_up_reason:
            why = f"Moved up from position {self.position}: {self.moved_up_reason}"
        else:
            why = (
                f"Position {self.position}: {self.priority_label.lower()} priority, waiting since "
                f"{self.placed_on:%d %b %Y} ({self.waiting_days} days)"
            )
        if self.quantity >= self.waiting:
            gets = f"gets all {self.waiting} waiting"
        elif self.quantity:
            gets = f"gets {self.quantity} of {self.waiting}: the stock runs out"
        else:
            gets = "gets nothing: the stock runs out before this line"
        return f"{why} — {gets}."


@dataclass
class ProductRelease:
    product_id: int
    sku: str
    name: str
    on_hand: int
    allocated: int
    lines: list[ReleaseLineProposal] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    @property
    def to_release(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def left_over(self) -> int:
        return self.available - self.to_release

    @property
    def waiting(self) -> int:
        return sum(line.waiting for line in self.lines)

    @property
    def lines_served(self) -> int:
        """Waiting lines the proposal gives something to."""
        return sum(1 for line in self.lines if line.quantity)

    @property
    def still_waiting(self) -> int:
        """Waiting lines the proposal leaves short (given less than they wait for, or nothing)."""
        return sum(1 for line in self.lines if line.quantity < line.waiting)


@dataclass
class ReleasePlan:
    warehouse_id: int
    shipment_id: int | None
    products: list[ProductRelease]
    fingerprint: str

    @property
    def product_ids(self) -> list[int]:
        return [p.product_id for p in self.products]

    @property
    def has_work(self) -> bool:
        return any(p.to_release for p in self.products)


@dataclass(frozen=True)
class ReleaseDecision:
    line_id: int
    quantity: int
    moved_up_reason: str = ""


@dataclass
class ReleaseResult:
    release: Release
    units: int
    ready_order_ids: list[int]

    @cached_property
    def ready_orders(self) -> list[SalesOrder]:
        """The orders the release made ready to ship, loaded (one query) when first asked for:
        a large release makes thousands ready, and most callers only count them."""
        if not self.ready_order_ids:
            return []
        return list(
            SalesOrder.objects.filter(pk__in=ids_in(self.ready_order_ids))
            .select_related("customer")
            .order_by("pk")
        )


def _fingerprint(
    warehouse_id: int,
    product_ids: list[int],
    levels: Mapping[int, StockLevel],
    queues: Mapping[int, list[QueueRow]],
) -> str:
    """What a plan depends on: free stock per product and each waiting line with its backorder."""
    state = [
        [
            pid,
            levels[pid].available if pid in levels else 0,
            [[row.line_id, row.waiting] for row in queues.get(pid, ())],
        ]
        for pid in product_ids
    ]
    payload = json.dumps([warehouse_id, state], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _product_ids_clean(product_ids: Iterable) -> list[int]:
    try:
        ids = sorted({id_int(pid) for pid in product_ids})
    except (TypeError, ValueError):
        raise ValidationError("Choose products from the list.", code="unknown_product") from None
    if not ids:
        raise ValidationError("Choose at least one product to release.", code="no_products")
    if len(ids) > MAX_PRODUCTS:
        raise ValidationError(
            "Release at most %(max)s products at once.",
            code="too_many",
            params={"max": MAX_PRODUCTS},
        )
    return ids


def _warehouse_clean(warehouse_id) -> int:
    try:
        return Warehouse.objects.only("pk").get(pk=warehouse_id).pk
    except (Warehouse.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That warehouse does not exist.", code="unknown_warehouse") from None


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
        fingerprint=_fingerprint(warehouse_id, product_ids, levels, queues),
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
    warehouse_id = _warehouse_clean(warehouse_id)
    ids = _product_ids_clean(product_ids)
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
    warehouse_id = _warehouse_clean(warehouse_id)
    ids = _product_ids_clean(product_ids)
    cleaned = _decisions_clean(decisions)
    note = reason_clean(note, required=False, field="note")
    if shipment_id is not None:
        if shipment_warehouse_id(shipment_id=shipment_id) != warehouse_id:
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
    if _fingerprint(warehouse_id, ids, levels, queues) != fingerprint:
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
