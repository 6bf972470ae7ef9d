"""Placing and cancelling customer orders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from common.cleaning import acting_user, id_int, quantity_clean, reason_clean
from common.submissions import submission_claim, submission_record
from common.transactions import write_transaction
from inventory.models import Product, Warehouse
from inventory.services import levels_counters_add, levels_lock, levels_save

from ..models import (
    Allocation,
    AllocationKind,
    Customer,
    OrderLine,
    Priority,
    SalesOrder,
    SalesOrderStatus,
)
from .common import order_lookup, orders_lock, require_open, status_for, waiting
from .demand import demand_add_cancelled, demand_add_placed

MAX_LINES = 500


@dataclass(frozen=True)
class OrderLineInput:
    product_id: int
    quantity: int


@dataclass
class CancelResult:
    order: SalesOrder
    # Units freed per product: they belong to the queue now, so the caller offers a release.
    freed: dict[int, int] = field(default_factory=dict)


@write_transaction
def customer_create(
    *, name, email: str = "", by=None, submission_key: str | None = None
) -> Customer:
    """Create a customer; names are unique ignoring case. With the form's `submission_key`, a
    second submission of the same form raises SubmissionDone naming the first one's customer
    instead of "already exists"."""
    claim = (
        submission_claim(key=submission_key, kind=Customer._meta.label_lower, by=by)
        if submission_key is not None
        else None
    )
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError("Give the customer a name.", code="required")
    if Customer.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            "A customer called %(name)s already exists.", code="duplicate", params={"name": name}
        )
    try:
        customer = Customer.objects.create(name=name[:200], email=(email or "").strip())
    except IntegrityError:
        raise ValidationError(
            "A customer called %(name)s already exists.", code="duplicate", params={"name": name}
        ) from None
    if claim is not None:
        submission_record(claim=claim, object_id=customer.pk)
    return customer


def _lines_clean(lines: Sequence[OrderLineInput | tuple[int, int]]) -> list[OrderLineInput]:
    if not lines:
        raise ValidationError("An order needs at least one line.", code="no_lines")
    if len(lines) > MAX_LINES:
        raise ValidationError(
            "An order can have at most %(max)s lines.",
            code="too_many_lines",
            params={"max": MAX_LINES},
        )
    cleaned: list[OrderLineInput] = []
    seen: set[int] = set()
    for raw in lines:
        product_id, quantity = (
            (raw.product_id, raw.quantity) if isinstance(raw, OrderLineInput) else raw
        )
        try:
            product_id = id_int(product_id)
        except (TypeError, ValueError):
            raise ValidationError(
                "Choose a product for every line.", code="unknown_product"
            ) from None
        if product_id in seen:
            raise ValidationError(
                "A product appears on two lines; put the whole quantity on one line.",
                code="duplicate_product",
            )
        seen.add(product_id)
        cleaned.append(OrderLineInput(product_id=product_id, quantity=quantity_clean(quantity)))
    return cleaned


@write_transaction
def order_place(
    *,
    customer_id: int,
    warehouse_id: int,
    lines: Sequence[OrderLineInput | tuple[int, int]],
    by,
    priority: int = Priority.NORMAL,
    customer_reference: str = "",
    placed_at=None,
    submission_key: str | None = None,
) -> SalesOrder:
    """Place an order: each line takes only stock not owed to the queue (rule 3), the rest is
    backordered and joins the queue behind everyone already waiting.

    `placed_at` exists for loading history (demo data, migrations from another system): a past
    time puts the backorder at that point of the queue, so pages and imports never pass it.
    `submission_key` is the form's token: a second placement with it raises SubmissionDone
    naming the first order (common.submissions)."""
    # Claimed before the levels are locked: a copy of this submission waits on the key's index
    # entry, not on the levels, and then places nothing.
    claim = (
        submission_claim(key=submission_key, kind=SalesOrder._meta.label_lower, by=by)
        if submission_key is not None
        else None
    )
    cleaned = _lines_clean(lines)
    if priority not in Priority.values:
        raise ValidationError("Choose a priority from the list.", code="bad_priority")
    try:
        customer = Customer.objects.get(pk=customer_id, is_active=True)
    except (Customer.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("Choose an active customer.", code="unknown_customer") from None
    try:
        warehouse = Warehouse.objects.get(pk=warehouse_id, is_active=True)
    except (Warehouse.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("Choose an active warehouse.", code="unknown_warehouse") from None
    product_ids = [line.product_id for line in cleaned]
    active = set(
        Product.objects.filter(pk__in=product_ids, is_active=True).values_list("pk", flat=True)
    )
    if len(active) != len(product_ids):
        raise ValidationError(
            "An order line names an unknown or inactive product.", code="unknown_product"
        )

    levels = levels_lock(pairs=[(pid, warehouse.pk) for pid in product_ids])

    order = SalesOrder(
        customer=customer,
        warehouse=warehouse,
        priority=priority,
        customer_reference=(customer_reference or "")[:60],
        placed_at=placed_at or timezone.now(),
        created_by=acting_user(by),
    )
    new_lines = []
    counters: dict[int, dict[str, int]] = {}
    for item in cleaned:
        level = levels[(item.product_id, warehouse.pk)]
        # The level's stored queue total, read under its lock: what is owed to waiting lines.
        free = max(0, level.available - level.backordered)
        take = min(item.quantity, free)
        level.allocated += take
        level.backordered += item.quantity - take
        counters[level.pk] = {"allocated": take, "backordered": item.quantity - take}
        new_lines.append(
            OrderLine(
                product_id=item.product_id, quantity_ordered=item.quantity, quantity_allocated=take
            )
        )
    order.status = status_for(new_lines)
    order.save()
    for line in new_lines:
        line.order = order
    OrderLine.objects.bulk_create(new_lines)
    # The day's demand, under the levels' locks taken above (one upsert).
    demand_add_placed(warehouse_id=warehouse.pk, placed_at=order.placed_at, lines=new_lines)
    user = acting_user(by)
    Allocation.objects.bulk_create(
        [
            Allocation(
                line=line,
                quantity=line.quantity_allocated,
                kind=AllocationKind.PLACEMENT,
                reason=f"Free stock when {order.number} was placed",
                created_by=user,
            )
            for line in new_lines
            if line.quantity_allocated
        ]
    )
    # One set-based UPDATE of the locked levels, whatever the number of lines (see bulk.py).
    levels_counters_add(deltas=counters)
    if claim is not None:
        submission_record(claim=claim, object_id=order.pk)
    return order


def _free_lines(
    lines: Iterable[OrderLine], *, reason: str, by, levels
) -> tuple[list[Allocation], dict[int, int]]:
    """Cancel everything not yet shipped on the lines, returning allocations to stock."""
    history = []
    freed: dict[int, int] = {}
    user = acting_user(by)
    for line in lines:
        level = levels[(line.product_id, line.order.warehouse_id)]
        level.backordered -= waiting(line)
        if line.quantity_allocated:
            level.allocated -= line.quantity_allocated
            freed[line.product_id] = freed.get(line.product_id, 0) + line.quantity_allocated
            history.append(
                Allocation(
                    line=line,
                    quantity=-line.quantity_allocated,
                    kind=AllocationKind.CANCELLATION,
                    reason=reason,
                    created_by=user,
                )
            )
        line.quantity_cancelled += line.quantity_allocated + waiting(line)
        line.quantity_allocated = 0
        line.cancel_reason = reason
        line.cancelled_at, line.cancelled_by = timezone.now(), user
    return history, freed


@write_transaction
def order_cancel(*, order_id: int, reason, by) -> CancelResult:
    """Cancel an open order: its allocations are freed and belong to the queue (rule 6)."""
    reason = reason_clean(reason)
    key = order_lookup(order_id)
    product_ids = list(
        OrderLine.objects.filter(order_id=key.pk).values_list("product_id", flat=True)
    )
    levels = levels_lock(pairs=[(pid, key.warehouse_id) for pid in product_ids])
    order = orders_lock([key.pk])[key.pk]
    require_open(order, "cancelled")
    lines = list(order.lines.all())
    for line in lines:
        line.order = order
    open_lines = [line for line in lines if line.quantity_allocated or waiting(line)]
    cancelled = {line.product_id: line.quantity_allocated + waiting(line) for line in open_lines}
    history, freed = _free_lines(open_lines, reason=reason, by=by, levels=levels)
    demand_add_cancelled(
        warehouse_id=order.warehouse_id, placed_at=order.placed_at, cancelled=cancelled
    )
    OrderLine.objects.bulk_update(
        open_lines,
        [
            "quantity_allocated",
            "quantity_cancelled",
            "cancel_reason",
            "cancelled_at",
            "cancelled_by",
        ],
    )
    Allocation.objects.bulk_create(history)
    levels_save(
        levels=[levels[(pid, order.warehouse_id)] for pid in cancelled],
        fields=["allocated", "backordered"],
    )
    order.status = status_for(lines)
    if order.status == SalesOrderStatus.CANCELLED:
        order.cancelled_at = timezone.now()
    order.cancel_reason = reason
    order.cancelled_by = acting_user(by)
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "cancelled_by"])
    return CancelResult(order=order, freed=freed)


@write_transaction
def order_line_cancel(*, line_id: int, reason, by) -> CancelResult:
    """Cancel what is still open on one line (the customer gave up); its allocation goes back to
    the queue (rule 6), and the order's status follows its remaining lines."""
    reason = reason_clean(reason)
    try:
        key = (
            OrderLine.objects.select_related("order")
            .only("pk", "product_id", "order__warehouse_id")
            .get(pk=line_id)
        )
    except (OrderLine.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That order line does not exist.", code="unknown_line") from None
    levels = levels_lock(pairs=[(key.product_id, key.order.warehouse_id)])
    order = orders_lock([key.order_id])[key.order_id]
    require_open(order, "changed")
    lines = list(order.lines.all())
    line = next(line for line in lines if line.pk == key.pk)
    line.order = order
    if not (line.quantity_allocated or waiting(line)):
        raise ValidationError("Nothing is left open on this line to cancel.", code="line_closed")
    cancelled = {line.product_id: line.quantity_allocated + waiting(line)}
    history, freed = _free_lines([line], reason=reason, by=by, levels=levels)
    demand_add_cancelled(
        warehouse_id=order.warehouse_id, placed_at=order.placed_at, cancelled=cancelled
    )
    line.save(
        update_fields=[
            "quantity_allocated",
            "quantity_cancelled",
            "cancel_reason",
            "cancelled_at",
            "cancelled_by",
        ]
    )
    Allocation.objects.bulk_create(history)
    levels_save(
        levels=[levels[(line.product_id, order.warehouse_id)]], fields=["allocated", "backordered"]
    )
    order.status = status_for(lines)
    fields = ["status"]
    if order.status == SalesOrderStatus.CANCELLED:
        order.cancelled_at = timezone.now()
        order.cancel_reason = reason
        order.cancelled_by = acting_user(by)
        fields += ["cancelled_at", "cancel_reason", "cancelled_by"]
    order.save(update_fields=fields)
    return CancelResult(order=order, freed=freed)
