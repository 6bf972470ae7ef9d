"""The purchasing area's part of the audit trail (see inventory.audit): purchase orders created,
sent and cancelled, and the shipments received against them, in the shared row shape."""

from __future__ import annotations

from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, TextField
from django.db.models.functions import Concat

from common.audit import HistoryPart, admin_log_rows, audit_rows, number_of, text
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
)


def purchase_order_history_parts(*, purchase_order_id: int) -> list[HistoryPart]:
    """Creation, sending, cancellation, receipts and admin changes of one purchase order."""
    po = PurchaseOrder.objects.filter(pk=purchase_order_id)
    received = (
        ShipmentLine.objects.filter(shipment=OuterRef("pk"))
        .values("shipment")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return [
        audit_rows(
            po,
            at="created_at",
            user="created_by__username",
            action=text("po_created"),
            detail=Concat(text("from "), F("supplier__name"), output_field=TextField()),
        ),
        audit_rows(
            po.filter(sent_at__isnull=False),
            at="sent_at",
            user="sent_by__username",
            action=text("po_sent"),
        ),
        audit_rows(
            po.filter(status=PurchaseOrderStatus.CANCELLED, closed_at__isnull=False),
            at="closed_at",
            user="cancelled_by__username",
            action=text("po_cancelled"),
            reason="cancel_reason",
        ),
        audit_rows(
            Shipment.objects.filter(purchase_order_id=purchase_order_id),
            at="received_at",
            user="received_by__username",
            action=text("shipment_received"),
            quantity=Subquery(received, output_field=IntegerField()),
            reason="reference",
            detail=number_of("SH", "pk"),
        ),
        admin_log_rows(app_label="suppliers", model="purchaseorder", object_ids=po),
        admin_log_rows(
            app_label="suppliers",
            model="purchaseorderline",
            object_ids=PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id),
        ),
    ]
