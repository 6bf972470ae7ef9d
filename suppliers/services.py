"""Every write to purchasing: supply terms, purchase orders and receiving shipments."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count
from django.utils import timezone

from inventory.models import MovementKind, Product, Warehouse
from inventory.services import (
    MovementSpec,
    acting_user,
    id_int,
    levels_lock,
    quantity_clean,
    reason_clean,
    stock_movements_apply,
    write_transaction,
)

from .models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
    document_number,
)

MAX_LINES = 1000
MAX_UNIT_COST = Decimal("1000000")


@dataclass(frozen=True)
class PurchaseLineInput:
    product_id: int
    quantity: int
    unit_cost: Decimal | None = None


@dataclass
class ReceiveResult:
    shipment: Shipment
    created: bool  # False when the same receipt had already been recorded (idempotent retry)

    @property
    def product_ids(self) -> list[int]:
        return sorted(
            {
                line.purchase_order_line.product_id
                for line in self.shipment.lines.select_related("purchase_order_line")
            }
        )


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


def _po_locked(purchase_order_id) -> PurchaseOrder:
    try:
        return (
            PurchaseOrder.objects.select_related("supplier", "warehouse")
            .select_for_update(no_key=True, of=("self",))
            .get(pk=purchase_order_id)
        )
    except (PurchaseOrder.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That purchase order does not exist.", code="unknown_po") from None


def _require_status(po: PurchaseOrder, allowed: Sequence[str], action: str) -> None:
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
) -> PurchaseOrder:
    """Create a draft purchase order; unit costs default to the supplier's terms."""
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
    return po


@write_transaction
def purchase_order_send(*, purchase_order_id: int, by) -> PurchaseOrder:
    """Send a draft to the supplier: from now on its lines count as on order."""
    po = _po_locked(purchase_order_id)
    _require_status(po, [PurchaseOrderStatus.DRAFT], "sent")
    if not po.lines.exists():
        raise ValidationError(
            "%(number)s has no lines to send.", code="no_lines", params={"number": po.number}
        )
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
    po = _po_locked(purchase_order_id)
    _require_status(po, [PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES], "cancelled")
    po.status = PurchaseOrderStatus.CANCELLED
    po.cancel_reason = reason
    po.closed_at = timezone.now()
    po.cancelled_by = acting_user(by)
    po.save(update_fields=["status", "cancel_reason", "closed_at", "cancelled_by"])
    return po


def _receivable_limit(ordered: int) -> int:
    tolerance = Decimal(str(settings.BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT))
    return math.floor(Decimal(ordered) * (1 + tolerance / 100))


@write_transaction
def shipment_receive(
    *,
    purchase_order_id: int,
    quantities: Mapping[int, object],
    idempotency_key: str,
    by,
    reference: str = "",
) -> ReceiveResult:
    """Record a delivery against a purchase order: stock and ledger go up, the order becomes
    partially received or received (rule 5).

    The same idempotency key counts once, however often it is submitted, and receipts beyond the
    over-receipt tolerance are refused. The purchase order row is locked first so concurrent
    receipts of one order queue up, then the stock levels (nothing locks them before a PO)."""
    key = (idempotency_key or "").strip() if isinstance(idempotency_key, str) else ""
    if not key or len(key) > 64:
        raise ValidationError("The receipt form has expired; open it again.", code="bad_key")
    wanted: dict[int, int] = {}
    for raw_id, raw_qty in (quantities or {}).items():
        try:
            line_id = id_int(raw_id)
        except (TypeError, ValueError):
            raise ValidationError("Unknown purchase order line.", code="unknown_line") from None
        qty = quantity_clean(raw_qty, field="quantity received", allow_zero=True)
        if qty:
            wanted[line_id] = qty

    po = _po_locked(purchase_order_id)
    # Checked under the PO lock: a concurrent submission of this key has either committed (and we
    # see it) or waits behind us.
    existing = Shipment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.purchase_order_id != po.pk:
            raise ValidationError("The receipt form has expired; open it again.", code="bad_key")
        return ReceiveResult(shipment=existing, created=False)
    _require_status(po, OPEN_PO_STATUSES, "received")
    if not wanted:
        raise ValidationError(
            "Enter the quantity that arrived on at least one line.", code="nothing_received"
        )
    po_lines = {line.pk: line for line in po.lines.select_related("product")}
    if set(wanted) - po_lines.keys():
        raise ValidationError(
            "A line does not belong to %(number)s.",
            code="unknown_line",
            params={"number": po.number},
        )
    for line_id, qty in wanted.items():
        line = po_lines[line_id]
        limit = _receivable_limit(line.quantity_ordered)
        if line.quantity_received + qty > limit:
            raise ValidationError(
                "%(sku)s: %(qty)s would make %(total)s received against %(ordered)s ordered; at most "
                "%(room)s more can be accepted. Check the delivery or ask a manager to amend the order.",
                code="over_receipt",
                params={
                    "sku": line.product.sku,
                    "qty": qty,
                    "total": line.quantity_received + qty,
                    "ordered": line.quantity_ordered,
                    "room": max(0, limit - line.quantity_received),
                },
            )

    levels = levels_lock(pairs=[(po_lines[i].product_id, po.warehouse_id) for i in wanted])
    try:
        shipment = Shipment.objects.create(
            purchase_order=po,
            idempotency_key=key,
            reference=(reference or "")[:100],
            received_by=acting_user(by),
        )
    except IntegrityError:
        # Only reachable if the key was used on another purchase order at the same moment.
        raise ValidationError(
            "The receipt form has expired; open it again.", code="bad_key"
        ) from None
    specs, shipment_lines = [], []
    for line_id, qty in sorted(wanted.items()):
        line = po_lines[line_id]
        line.quantity_received += qty
        shipment_lines.append(
            ShipmentLine(shipment=shipment, purchase_order_line=line, quantity=qty)
        )
        specs.append(
            MovementSpec(
                level=levels[(line.product_id, po.warehouse_id)],
                quantity=qty,
                kind=MovementKind.RECEIPT,
                reason=f"Received from {po.supplier.name}",
                reference=f"{po.number} {shipment.number}",
            )
        )
    ShipmentLine.objects.bulk_create(shipment_lines)
    PurchaseOrderLine.objects.bulk_update([po_lines[i] for i in wanted], ["quantity_received"])
    stock_movements_apply(specs=specs, by=by)
    complete = all(line.quantity_received >= line.quantity_ordered for line in po_lines.values())
    po.status = PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.closed_at = timezone.now() if complete else None
    po.save(update_fields=["status", "closed_at"])
    return ReceiveResult(shipment=shipment, created=True)


# --- draft purchase orders from reorder suggestions ---------------------------------------------

# Orders a suggestion must not be duplicated onto: not yet sent, or still expecting stock.
DRAFT_OR_OPEN_STATUSES = (PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES)


@dataclass
class DraftResult:
    created: list[PurchaseOrder]
    # Drafts of the same supplier × warehouse that already existed and got the new lines.
    reused: list[PurchaseOrder]
    # One sentence per chosen row that was not ordered, saying why.
    skipped: list[str]


@write_transaction
def purchase_orders_draft_from_suggestions(*, level_ids, by) -> DraftResult:
    """Turn chosen reorder suggestions into draft purchase orders, one per supplier × warehouse,
    at the quantities and unit costs recomputed now (a posted quantity is never trusted).

    Idempotent: a product × warehouse already on a draft, sent or partially received order of
    that supplier is skipped, so running it twice orders nothing the second time. New lines join
    an existing draft of the same supplier × warehouse rather than starting a second one. The
    suppliers' rows are locked first (then their drafts), so two managers drafting at once queue
    up and the second sees the first one's lines."""
    from inventory.reorder import suggestions_for
    from inventory.services import level_ids_clean

    ids = level_ids_clean(level_ids)
    rows = {row.level_id: row for row in suggestions_for(level_ids=ids, include_all=True)}
    skipped = [
        f"Stock level {level_id}: unknown, or its product or warehouse is inactive."
        for level_id in ids
        if level_id not in rows
    ]
    wanted = []
    for row in (rows[i] for i in ids if i in rows):
        label = f"{row.sku} @ {row.warehouse_code}"
        if row.supplier_id is None:
            skipped.append(f"{label}: no supplier to order from.")
        elif row.suggested_qty <= 0:
            skipped.append(
                f"{label}: nothing to order (projected {row.projected} is above the reorder "
                f"point {row.rop:.1f})."
                if row.projected > row.rop
                else f"{label}: nothing to order."
            )
        else:
            wanted.append(row)
    if not wanted:
        return DraftResult(created=[], reused=[], skipped=skipped)

    supplier_ids = sorted({row.supplier_id for row in wanted})
    list(Supplier.objects.filter(pk__in=supplier_ids).select_for_update(no_key=True).order_by("pk"))
    already = {
        (product_id, warehouse_id, supplier_id): (po_id, status)
        for product_id, warehouse_id, supplier_id, po_id, status in PurchaseOrderLine.objects.filter(
            purchase_order__status__in=DRAFT_OR_OPEN_STATUSES,
            purchase_order__supplier_id__in=supplier_ids,
            product_id__in={row.product_id for row in wanted},
        )
        .order_by("purchase_order_id")
        .values_list(
            "product_id",
            "purchase_order__warehouse_id",
            "purchase_order__supplier_id",
            "purchase_order_id",
            "purchase_order__status",
        )
    }
    groups: dict[tuple[int, int], list] = {}
    for row in wanted:
        found = already.get((row.product_id, row.warehouse_id, row.supplier_id))
        if found:
            po_id, status = found
            skipped.append(
                f"{row.sku} @ {row.warehouse_code}: already on {document_number('PO', po_id)} "
                f"({PurchaseOrderStatus(status).label.lower()})."
            )
            continue
        groups.setdefault((row.supplier_id, row.warehouse_id), []).append(row)
    if not groups:
        return DraftResult(created=[], reused=[], skipped=skipped)

    drafts: dict[tuple[int, int], PurchaseOrder] = {}
    for po in (
        PurchaseOrder.objects.filter(
            status=PurchaseOrderStatus.DRAFT,
            supplier_id__in=supplier_ids,
            warehouse_id__in={w for _, w in groups},
        )
        .select_for_update(no_key=True)
        .order_by("pk")
    ):
        # The newest draft of a pair collects the lines (someone may have left an older one).
        drafts[(po.supplier_id, po.warehouse_id)] = po
    line_counts = dict(
        PurchaseOrderLine.objects.filter(purchase_order__in=list(drafts.values()))
        .values("purchase_order_id")
        .annotate(n=Count("id"))
        .values_list("purchase_order_id", "n")
    )
    today = timezone.localdate()
    user = acting_user(by)
    created, reused, lines = [], [], []
    for key in sorted(groups):
        pending = groups[key]
        # The slowest line decides when the whole order can be complete.
        expected = today + dt.timedelta(days=max(row.lead_time_days for row in pending))
        draft = drafts.get(key)
        room = MAX_LINES - line_counts.get(draft.pk, 0) if draft else 0
        batches = []
        if room > 0:
            if draft.expected_date < expected:
                draft.expected_date = expected
                draft.save(update_fields=["expected_date"])
            reused.append(draft)
            batches.append((draft, pending[:room]))
            pending = pending[room:]
        while pending:
            po = PurchaseOrder.objects.create(
                supplier_id=key[0],
                warehouse_id=key[1],
                expected_date=expected,
                notes=f"Drafted from reorder suggestions on {today:%d %b %Y}.",
                created_by=user,
            )
            created.append(po)
            batches.append((po, pending[:MAX_LINES]))
            pending = pending[MAX_LINES:]
        lines += [
            PurchaseOrderLine(
                purchase_order=po,
                product_id=row.product_id,
                quantity_ordered=row.suggested_qty,
                unit_cost=row.unit_cost,
            )
            for po, batch in batches
            for row in batch
        ]
    PurchaseOrderLine.objects.bulk_create(lines)
    return DraftResult(created=created, reused=reused, skipped=skipped)
