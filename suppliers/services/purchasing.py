"""Purchase orders: create a draft, send it (its lines go on order), cancel it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from common.cleaning import acting_user, id_int, quantity_clean, reason_clean
from common.submissions import submission_claim, submission_record
from common.transactions import write_transaction
from inventory.models import Product, Warehouse
from inventory.services import levels_counters_add, levels_lock
from suppliers.models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
)

MAX_LINES = 1000
MAX_UNIT_COST = Decimal("1000000")


@dataclass(frozen=True)
class PurchaseLineInput:
    product_id: int
    quantity: int
    unit_cost: Decimal | None = None


def _cost_clean(value) -> Decimal:
    try:
        cost = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(
            "The unit cost must be a number like 12.50.", code="bad_cost"
        ) from None
    if not cost.is_finite() or cost < 0 or cost > MAX_UNIT_COST:
        raise ValidationError("The unit cost must be between 0 and 1,000,000.", code="bad_cost")
    if cost != cost.quantize(Decimal("0.01")):
        raise ValidationError("The unit cost has at most two decimals.", code="bad_cost")
    return cost


def purchase_order_lock(purchase_order_id) -> PurchaseOrder:
    try:
        return (
            PurchaseOrder.objects.select_related("supplier", "warehouse")
            .select_for_update(no_key=True, of=("self",))
            .get(pk=purchase_order_id)
        )
    except (PurchaseOrder.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That purchase order does not exist.", code="unknown_po") from None


def _on_order_add(po: PurchaseOrder, deltas: dict[int, int]) -> None:
    """Change the stored on-order counters of the order's levels, under their locks (taken after
    the purchase order's, as receiving does)."""
    deltas = {product_id: delta for product_id, delta in deltas.items() if delta}
    if not deltas:
        return
    levels = levels_lock(pairs=[(product_id, po.warehouse_id) for product_id in deltas])
    levels_counters_add(
        deltas={
            levels[(product_id, po.warehouse_id)].pk: {"on_order": delta}
            for product_id, delta in deltas.items()
        }
    )


def purchase_order_status_require(po: PurchaseOrder, allowed: Sequence[str], action: str) -> None:
    if po.status not in allowed:
        raise ValidationError(
            "%(number)s is %(status)s; it cannot be %(action)s.",
            code="po_closed",
            params={
                "number": po.number,
                "status": po.get_status_display().lower(),
                "action": action,
            },
        )


@write_transaction
def purchase_order_create(
    *,
    supplier_id: int,
    warehouse_id: int,
    expected_date: dt.date,
    lines: Sequence[PurchaseLineInput | tuple],
    by,
    notes: str = "",
    submission_key: str | None = None,
) -> PurchaseOrder:
    """Create a draft purchase order; unit costs default to the supplier's terms.

    `submission_key` is the form's token: a second creation with it raises SubmissionDone
    naming the first purchase order (common.submissions)."""
    claim = (
        submission_claim(key=submission_key, kind=PurchaseOrder._meta.label_lower, by=by)
        if submission_key is not None
        else None
    )
    try:
        supplier = Supplier.objects.get(pk=supplier_id, is_active=True)
    except (Supplier.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("Choose an active supplier.", code="unknown_supplier") from None
    try:
        warehouse = Warehouse.objects.get(pk=warehouse_id, is_active=True)
    except (Warehouse.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("Choose an active warehouse.", code="unknown_warehouse") from None
    if not isinstance(expected_date, dt.date):
        raise ValidationError("Enter the expected delivery date.", code="bad_date")
    if not lines:
        raise ValidationError("A purchase order needs at least one line.", code="no_lines")
    if len(lines) > MAX_LINES:
        raise ValidationError(
            "A purchase order can have at most %(max)s lines.",
            code="too_many_lines",
            params={"max": MAX_LINES},
        )
    parsed = [
        raw if isinstance(raw, PurchaseLineInput) else PurchaseLineInput(*raw) for raw in lines
    ]
    try:
        product_ids = [id_int(item.product_id) for item in parsed]
    except (TypeError, ValueError):
        raise ValidationError("Choose a product for every line.", code="unknown_product") from None
    if len(set(product_ids)) != len(product_ids):
        raise ValidationError(
            "A product appears on two lines; put the whole quantity on one line.",
            code="duplicate_product",
        )
    products = set(
        Product.objects.filter(pk__in=product_ids, is_active=True).values_list("pk", flat=True)
    )
    if len(products) != len(product_ids):
        raise ValidationError(
            "A line names an unknown or inactive product.", code="unknown_product"
        )
    terms = {
        t.product_id: t
        for t in SupplierProduct.objects.filter(
            supplier=supplier, product_id__in=product_ids
        ).select_related("product")
    }
    po_lines = []
    for item, product_id in zip(parsed, product_ids, strict=True):
        quantity = quantity_clean(item.quantity)
        if item.unit_cost is not None and str(item.unit_cost).strip() != "":
            cost = _cost_clean(item.unit_cost)
        elif product_id in terms:
            cost = terms[product_id].unit_cost
        else:
            raise ValidationError(
                "%(supplier)s has no terms for one of the products; enter its unit cost.",
                code="cost_required",
                params={"supplier": supplier.name},
            )
        po_lines.append(
            PurchaseOrderLine(product_id=product_id, quantity_ordered=quantity, unit_cost=cost)
        )
    po = PurchaseOrder.objects.create(
        supplier=supplier,
        warehouse=warehouse,
        expected_date=expected_date,
        notes=(notes or "")[:2000],
        created_by=acting_user(by),
    )
    for line in po_lines:
        line.purchase_order = po
    PurchaseOrderLine.objects.bulk_create(po_lines)
    if claim is not None:
        submission_record(claim=claim, object_id=po.pk)
    return po


@write_transaction
def purchase_order_send(*, purchase_order_id: int, by) -> PurchaseOrder:
    """Send a draft to the supplier: from now on its lines count as on order."""
    po = purchase_order_lock(purchase_order_id)
    purchase_order_status_require(po, [PurchaseOrderStatus.DRAFT], "sent")
    lines = list(po.lines.values_list("product_id", "quantity_ordered"))
    if not lines:
        raise ValidationError(
            "%(number)s has no lines to send.", code="no_lines", params={"number": po.number}
        )
    _on_order_add(po, dict(lines))
    po.status = PurchaseOrderStatus.SENT
    po.sent_at = timezone.now()
    po.sent_by = acting_user(by)
    po.save(update_fields=["status", "sent_at", "sent_by"])
    return po


@write_transaction
def purchase_order_cancel(*, purchase_order_id: int, reason, by) -> PurchaseOrder:
    """Cancel a purchase order; on a partly received one only the outstanding rest is cancelled
    (what arrived stays in stock)."""
    reason = reason_clean(reason)
    po = purchase_order_lock(purchase_order_id)
    purchase_order_status_require(po, [PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES], "cancelled")
    if po.status in OPEN_PO_STATUSES:
        # The outstanding rest stops being on order (a draft never counted).
        outstanding = {
            product_id: -max(0, ordered - received)
            for product_id, ordered, received in po.lines.values_list(
                "product_id", "quantity_ordered", "quantity_received"
            )
        }
        _on_order_add(po, outstanding)
    po.status = PurchaseOrderStatus.CANCELLED
    po.cancel_reason = reason
    po.closed_at = timezone.now()
    po.cancelled_by = acting_user(by)
    po.save(update_fields=["status", "cancel_reason", "closed_at", "cancelled_by"])
    return po


# --- draft purchase orders from reorder suggestions ---------------------------------------------

# Orders a suggestion must not be duplicated onto: not yet sent, or still expecting stock.
DRAFT_OR_OPEN_STATUSES = (PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES)
