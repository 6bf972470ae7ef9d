"""Receiving: a shipment lands against a purchase order (idempotent, within tolerance)."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from common.cleaning import acting_user, id_int, quantity_clean
from common.transactions import write_transaction
from inventory.models import MovementKind
from inventory.services import MovementSpec, levels_lock, stock_movements_apply
from suppliers.models import (
    OPEN_PO_STATUSES,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
)
from suppliers.services.purchasing import purchase_order_lock, purchase_order_status_require


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

    po = purchase_order_lock(purchase_order_id)
    # Checked under the PO lock: a concurrent submission of this key has either committed (and we
    # see it) or waits behind us.
    existing = Shipment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.purchase_order_id != po.pk:
            raise ValidationError("The receipt form has expired; open it again.", code="bad_key")
        return ReceiveResult(shipment=existing, created=False)
    purchase_order_status_require(po, OPEN_PO_STATUSES, "received")
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
        level = levels[(line.product_id, po.warehouse_id)]
        # What arrived is no longer on order; a tolerated over-receipt takes it to 0, not below.
        level.on_order -= min(qty, max(0, line.quantity_ordered - line.quantity_received))
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
    stock_movements_apply(specs=specs, by=by, also_save=("on_order",))
    complete = all(line.quantity_received >= line.quantity_ordered for line in po_lines.values())
    po.status = PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.closed_at = timezone.now() if complete else None
    po.save(update_fields=["status", "closed_at"])
    return ReceiveResult(shipment=shipment, created=True)
